/**
 * The few TensorBoard protocol-buffer messages an event file needs (Event, Summary, SummaryMetadata,
 * TensorProto), declared with the field numbers of TensorBoard's own event.proto, summary.proto,
 * tensor.proto, tensor_shape.proto and types.proto (tensorboard/compat/proto/), and encoded with
 * protobufjs.
 *
 * [Note: protobuf library] protobufjs rather than @bufbuild/protobuf: protobufjs builds message types
 * at run time from .proto text, so the subset below is the whole schema, readable next to
 * TensorBoard's files and checked field by field against them; @bufbuild/protobuf v2 needs generated
 * descriptor code (protoc-gen-es) for every message, which this project has no build step for. Only
 * the fields this writer sets are declared: a reader ignores nothing it needs, and protobuf readers
 * skip fields they do not know, so a subset encodes valid messages.
 */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package tensorboard;

// types.proto (subset)
enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_STRING = 7;
}

// tensor_shape.proto
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

// tensor.proto (subset)
message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated bytes string_val = 8;
}

// summary.proto (subset)
enum DataClass {
  DATA_CLASS_UNKNOWN = 0;
  DATA_CLASS_SCALAR = 1;
  DATA_CLASS_TENSOR = 2;
  DATA_CLASS_BLOB_SEQUENCE = 3;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}

message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      Image image = 4;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

// event.proto (subset)
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
const EventType = root.lookupType('tensorboard.Event');

/** DataType.DT_STRING and DataClass.DATA_CLASS_TENSOR, as TensorBoard's text summaries set them. */
export const DT_STRING = 7;
export const DATA_CLASS_TENSOR = 2;

export interface SummaryImage {
  height: number;
  width: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA (Summary.Image's colorspace). */
  colorspace: number;
  encoded_image_string: Uint8Array;
}

export interface SummaryValue {
  tag: string;
  metadata?: {
    plugin_data?: { plugin_name: string; content?: Uint8Array };
    display_name?: string;
    summary_description?: string;
    data_class?: number;
  };
  simple_value?: number;
  image?: SummaryImage;
  tensor?: {
    dtype: number;
    tensor_shape?: { dim: { size: number; name?: string }[] };
    string_val?: Uint8Array[];
  };
}

export interface EventMessage {
  wall_time: number;
  step?: number;
  file_version?: string;
  summary?: { value: SummaryValue[] };
}

/** The Event's protobuf bytes. */
export function encodeEvent(event: EventMessage): Uint8Array {
  return EventType.encode(EventType.fromObject(event)).finish();
}

/** An Event decoded back to a plain object (bytes as Uint8Array, int64 as number); for tests and tools. */
export function decodeEvent(bytes: Uint8Array): EventMessage {
  return EventType.toObject(EventType.decode(bytes), { longs: Number, defaults: false }) as EventMessage;
}
