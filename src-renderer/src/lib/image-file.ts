/**
 * What the image pickers accept, checked on the file's own bytes before anything is uploaded: a
 * renamed text file or a HEIC photo is refused at once, naming the file and what was expected,
 * instead of failing later in the server's decoder with a message about base64 or sharp.
 */

export type ImageType = 'jpeg' | 'png' | 'webp';

/** What the serving side decodes (sharp builds for JPEG, PNG and WebP are everywhere). */
export const ACCEPTED_IMAGES = 'JPEG, PNG or WebP';

/** The image type the first bytes announce (their magic numbers), or null for anything else. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const at = (i: number, ...values: number[]) => values.every((v, k) => bytes[i + k] === v);
  if (bytes.length >= 3 && at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (bytes.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  // RIFF <size> WEBP
  if (bytes.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  return null;
}

/** Null when `bytes` is an accepted image, else the sentence the picker shows. */
export function imageProblem(control: string, fileName: string, bytes: Uint8Array): string | null {
  if (bytes.length === 0) return `${control}: "${fileName}" is empty; expected a ${ACCEPTED_IMAGES} image.`;
  if (sniffImageType(bytes)) return null;
  return `${control}: "${fileName}" is not a ${ACCEPTED_IMAGES} image (its first bytes are ${hexHead(bytes)}); choose a picture file.`;
}

function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Base64 of raw bytes (the contract carries JSON). */
export function toBase64(bytes: Uint8Array): string {
  // In chunks: String.fromCharCode(...bytes) overflows the call stack on a few MB.
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
