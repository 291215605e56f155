/**
 * A TensorBoard event file: `openTensorBoardRun(dir)` creates
 * `dir/events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n>` (TensorBoard's own naming, so
 * `tensorboard --logdir` finds it) and appends TFRecord-framed Event protos: first
 * `file_version: "brain.Event:2"`, then scalars, text and images.
 *
 * [Note: event files survive crashes] The file is only ever appended to, whole records at a time.
 * Records wait in memory until flush() (the trainer flushes after each epoch; a large backlog flushes
 * itself), which appends them in one go and fsyncs. A crash therefore loses at most the unflushed
 * tail; at worst it leaves a partly written last record, which TensorBoard's reader recognises by its
 * length and CRC and skips, so every earlier record stays readable. A failed append (a full disk) is
 * cut back to the last whole record before the error is thrown, so later records never follow a
 * broken one. A temp name + rename would not do here: TensorBoard reads event files while they grow.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  DATA_CLASS_TENSOR,
  DT_STRING,
  type EventMessage,
  encodeEvent,
  type SummaryValue,
} from './event-proto.ts';
import { readPngHeader } from './png-header.ts';
import { frameRecord } from './tfrecord.ts';

export const FILE_VERSION = 'brain.Event:2';
/** Pending bytes that make a write flush itself, so memory stays bounded between epochs. */
const AUTO_FLUSH_BYTES = 1 << 20;

/** Like TensorBoard's writer: a process-wide counter in the file name, so two writers never clash. */
let filesOpened = 0;

export function eventFileName(now: Date = new Date()): string {
  const secs = String(Math.floor(now.getTime() / 1000)).padStart(10, '0');
  return `events.out.tfevents.${secs}.${hostname()}.${process.pid}.${filesOpened++}`;
}

export class TensorBoardRun {
  private fd: number | null;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Bytes of whole records on disk: where a failed append is cut back to. */
  private size = 0;

  private constructor(
    /** The event file's absolute path. */
    readonly path: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Creates the folder if needed and a new event file in it (never reusing an existing name). */
  static open(dir: string): TensorBoardRun {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, eventFileName());
    const run = new TensorBoardRun(path, openSync(path, 'wx'));
    run.push({ wall_time: Date.now() / 1000, step: 0, file_version: FILE_VERSION });
    run.flush();
    return run;
  }

  /** A scalar (Summary.Value.simple_value, a 32-bit float): a point on the chart named `tag`. */
  scalar(tag: string, value: number, step: number, wallTime?: number): void {
    if (typeof value !== 'number')
      throw new Error(`TensorBoard scalar "${tag}": expected a number, got ${typeof value}`);
    this.summary({ tag: checkTag(tag), simple_value: value }, step, wallTime);
  }

  /** Markdown text, as the text plugin stores it: a scalar string tensor tagged with plugin "text". */
  text(tag: string, markdown: string, step: number, wallTime?: number): void {
    if (typeof markdown !== 'string') throw new Error(`TensorBoard text "${tag}": expected a string`);
    this.summary(
      {
        tag: checkTag(tag),
        metadata: { plugin_data: { plugin_name: 'text' }, data_class: DATA_CLASS_TENSOR },
        tensor: { dtype: DT_STRING, tensor_shape: { dim: [] }, string_val: [Buffer.from(markdown, 'utf8')] },
      },
      step,
      wallTime,
    );
  }

  /** A PNG image (Summary.Image); its size and channels are read from the PNG's header. */
  image(tag: string, png: Uint8Array, step: number, wallTime?: number): void {
    const h = readPngHeader(png, `TensorBoard image "${tag}"`);
    this.summary(
      {
        tag: checkTag(tag),
        image: { width: h.width, height: h.height, colorspace: h.channels, encoded_image_string: png },
      },
      step,
      wallTime,
    );
  }

  /** Appends every pending record to the file and syncs it to disk. */
  flush(): void {
    const fd = this.openFd();
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, this.size + off);
      fsyncSync(fd);
    } catch (e) {
      try {
        ftruncateSync(fd, this.size);
      } catch {
        // The original error says more than a failed clean-up would.
      }
      throw e;
    }
    this.size += bytes.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Flushes and closes the file; later calls are no-ops. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private summary(value: SummaryValue, step: number, wallTime?: number): void {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new Error(`TensorBoard "${value.tag}": step must be a whole number >= 0, got ${step}`);
    }
    if (wallTime !== undefined && !Number.isFinite(wallTime)) {
      throw new Error(`TensorBoard "${value.tag}": wallTime must be seconds since 1970, got ${wallTime}`);
    }
    this.push({ wall_time: wallTime ?? Date.now() / 1000, step, summary: { value: [value] } });
  }

  private push(event: EventMessage): void {
    this.openFd();
    const record = frameRecord(encodeEvent(event));
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= AUTO_FLUSH_BYTES) this.flush();
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`TensorBoard event file ${this.path} is closed`);
    return this.fd;
  }
}

function checkTag(tag: string): string {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new Error(`TensorBoard tag: expected a non-empty string, got ${JSON.stringify(tag)}`);
  }
  return tag;
}

/** Opens a new event file in `dir` (created if needed): the run's TensorBoard log. */
export function openTensorBoardRun(dir: string): TensorBoardRun {
  return TensorBoardRun.open(dir);
}
