/**
 * Width, height and channel count of a PNG from its IHDR chunk, which the format fixes at bytes
 * 8–32 of every PNG. [Note: PNG header by hand] sharp can read this too, but only asynchronously and
 * by decoding the stream; the event writer's image() is synchronous and needs 25 bytes.
 */
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface PngHeader {
  width: number;
  height: number;
  /** Summary.Image's colorspace: 1 grey, 2 grey + alpha, 3 RGB (or palette), 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
}

/** Throws, naming `what`, when the bytes are not a PNG. */
export function readPngHeader(png: Uint8Array, what = 'image'): PngHeader {
  if (png.length < 33 || SIGNATURE.some((b, i) => png[i] !== b)) {
    throw new Error(
      `${what}: expected PNG bytes (signature 89 50 4E 47 …), got ${png.length} bytes of something else`,
    );
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunk = String.fromCharCode(png[12]!, png[13]!, png[14]!, png[15]!);
  if (chunk !== 'IHDR') throw new Error(`${what}: a PNG must start with its IHDR chunk, found "${chunk}"`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const colorType = png[25]!;
  const channels = ({ 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 } as const)[colorType as 0 | 2 | 3 | 4 | 6];
  if (!channels || width === 0 || height === 0) {
    throw new Error(
      `${what}: PNG header is invalid (width ${width}, height ${height}, colour type ${colorType})`,
    );
  }
  return { width, height, channels };
}
