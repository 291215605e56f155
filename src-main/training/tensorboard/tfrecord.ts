/**
 * TFRecord framing, the container of TensorBoard event files: each record is
 *   uint64 length (little-endian) · uint32 masked CRC32C of those 8 bytes · data · uint32 masked CRC32C of data.
 * A reader checks both CRCs, so a record cut short by a crash is recognised as such and never read as
 * data; everything before it stays readable.
 */
import { crc32c } from '@aws-crypto/crc32c';

// [Note: CRC32C] TFRecord uses the Castagnoli polynomial (CRC32C), not zlib's CRC32, and "masks"
// every CRC it stores (rotate right by 15, add a constant) because computing the CRC of a string that
// itself holds CRCs is said to be weak. @aws-crypto/crc32c is the table-driven CRC32C in pure
// JavaScript that the AWS SDK uses: no native build, so it loads the same in Node, Electron and tests.
const MASK_DELTA = 0xa282ead8;

/** CRC32C (Castagnoli) of the bytes, as an unsigned 32-bit number. */
export function crc32cOf(data: Uint8Array): number {
  return crc32c(data) >>> 0;
}

/** TFRecord's masked CRC32C: ((crc >>> 15) | (crc << 17)) + 0xa282ead8, modulo 2^32. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32cOf(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** One TFRecord: header (length + its masked CRC), the data, the data's masked CRC. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * The records in a buffer of framed records, each CRC checked. Stops at a truncated last record (a
 * file still being written, or cut by a crash) and reports it; a CRC mismatch throws.
 */
export function readRecords(buf: Uint8Array): { records: Uint8Array[]; truncatedTail: boolean } {
  const records: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) return { records, truncatedTail: true };
    if (view.getUint32(off + 8, true) !== maskedCrc32c(buf.subarray(off, off + 8))) {
      throw new Error(`TFRecord at byte ${off}: the length's CRC does not match`);
    }
    const len = Number(view.getBigUint64(off, true));
    if (off + 12 + len + 4 > buf.length) return { records, truncatedTail: true };
    const data = buf.subarray(off + 12, off + 12 + len);
    if (view.getUint32(off + 12 + len, true) !== maskedCrc32c(data)) {
      throw new Error(`TFRecord at byte ${off}: the data's CRC does not match`);
    }
    records.push(data);
    off += 12 + len + 4;
  }
  return { records, truncatedTail: false };
}
