/**
 * Checks that bytes someone handed us (an upload, a file in a folder to import) are an image we can
 * use, by content and never by file name: first the magic bytes, then sharp decodes the whole picture
 * (so a truncated file is caught here, not halfway through a batch). Also turns image bytes into a
 * workspace-encoder vector.
 */
import sharp, { type Metadata } from 'sharp';
import type { ImageEncoder } from '../encoders/image-encoder/onnx-image-encoder.ts';
import { preprocessImage } from '../encoders/image-encoder/preprocess.ts';

/** Largest picture accepted (width × height): far above any product photo, far below a decompression bomb. */
export const MAX_IMAGE_PIXELS = 40_000_000;

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff';
export const IMAGE_EXTENSIONS: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  tiff: 'tiff',
};
/** File name endings an import folder's images may have (other files are listed as skipped). */
export const IMAGE_FILE_PATTERN = /\.(jpe?g|png|webp|gif|tiff?)$/i;

/**
 * A rejected image. `statusCode` is what the HTTP server answers: 415 not an image, 400 an image that
 * is damaged or truncated, 413 too many pixels.
 */
export class ImageInputError extends Error {
  override name = 'ImageInputError';
  constructor(
    message: string,
    readonly statusCode: 400 | 413 | 415,
    readonly code: 'not_an_image' | 'damaged_image' | 'too_large',
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The format the first bytes announce, or null. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | null {
  const at = (i: number, ...xs: number[]) => xs.every((x, k) => b[i + k] === x);
  if (b.length >= 3 && at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (b.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (b.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (
    b.length >= 6 &&
    (at(0, 0x47, 0x49, 0x46, 0x38, 0x37, 0x61) || at(0, 0x47, 0x49, 0x46, 0x38, 0x39, 0x61))
  )
    return 'gif';
  if (b.length >= 4 && (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a))) return 'tiff';
  return null;
}

export interface CheckedImage {
  format: ImageFormat;
  ext: string;
  width: number;
  height: number;
}

/**
 * Checks `bytes` are a whole JPEG, PNG, WebP, GIF or TIFF image. `what` names it in errors (a file
 * path, or "upload image (photo.jpg)"); `field` is the request field for the HTTP answer.
 */
export async function checkImage(
  bytes: Uint8Array,
  what: string,
  field?: string,
  opts_: { decode?: boolean } = {},
): Promise<CheckedImage> {
  if (bytes.length === 0) {
    throw new ImageInputError(
      `${what}: the file is empty; expected a JPEG, PNG, WebP, GIF or TIFF image`,
      415,
      'not_an_image',
      field,
    );
  }
  const format = sniffImageFormat(bytes);
  if (!format) {
    // The bytes themselves are not quoted: a catalog import reads server files, and an error never
    // carries a server file's content.
    throw new ImageInputError(
      `${what}: not an image (it does not start with a JPEG, PNG, WebP, GIF or TIFF signature); expected an image file. The file name does not matter, the content does.`,
      415,
      'not_an_image',
      field,
    );
  }
  const opts = { failOn: 'error' as const, limitInputPixels: MAX_IMAGE_PIXELS };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, opts).metadata();
  } catch (e) {
    throw new ImageInputError(
      `${what}: starts like a ${format.toUpperCase()} file but its header cannot be read (${e instanceof Error ? e.message : String(e)})`,
      400,
      'damaged_image',
      field,
    );
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ImageInputError(
      `${what}: ${width}×${height} pixels is more than the ${MAX_IMAGE_PIXELS.toLocaleString('en')} accepted; send a smaller picture`,
      413,
      'too_large',
      field,
    );
  }
  if (!width || !height) {
    throw new ImageInputError(
      `${what}: the ${format.toUpperCase()} file has no readable size`,
      400,
      'damaged_image',
      field,
    );
  }
  // Decode everything (a truncated file fails only here); the small output keeps it cheap. Skipped
  // when the caller decodes the whole image next anyway (embedding an upload) and maps the error.
  if (opts_.decode === false) return { format, ext: IMAGE_EXTENSIONS[format], width, height };
  try {
    await sharp(bytes, opts).resize(32, 32, { fit: 'inside' }).raw().toBuffer();
  } catch (e) {
    throw new ImageInputError(
      `${what}: the ${format.toUpperCase()} image is damaged or truncated (${e instanceof Error ? e.message : String(e)})`,
      400,
      'damaged_image',
      field,
    );
  }
  return { format, ext: IMAGE_EXTENSIONS[format], width, height };
}

/**
 * Embeds images given as bytes with `encoder`, in one batch: [n × dim], rows L2-normalised. With
 * `names`, a picture that fails to decode is an ImageInputError (400, damaged) naming it.
 */
export async function embedImageBytes(
  encoder: ImageEncoder,
  images: readonly Uint8Array[],
  names?: readonly { what: string; field?: string }[],
): Promise<Float32Array> {
  const { height, width } = encoder.inputSize;
  const floats = 3 * height * width;
  const pixels = new Float32Array(images.length * floats);
  await Promise.all(
    images.map(async (b, i) => {
      try {
        await preprocessImage(Buffer.from(b.buffer, b.byteOffset, b.byteLength), encoder.preprocess, {
          out: pixels,
          offset: i * floats,
        });
      } catch (e) {
        const name = names?.[i];
        if (!name) throw e;
        const format = sniffImageFormat(b)?.toUpperCase() ?? 'image';
        throw new ImageInputError(
          `${name.what}: the ${format} image is damaged or truncated (${e instanceof Error ? e.message : String(e)})`,
          400,
          'damaged_image',
          name.field,
        );
      }
    }),
  );
  return encoder.embed(pixels);
}
