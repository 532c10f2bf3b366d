/** @module db/enum-index
 * DuckDB stores an ENUM's index as u8, u16 or u32 depending on how many values it has; the
 * typed array handed to a chunk must match. */

export type EnumIndexArray = Uint8Array | Uint16Array | Uint32Array;

/** A typed array of `length` able to hold indexes of an enum with `size` values. */
export function enumIndexArray(size: number, length: number): EnumIndexArray {
  if (size <= 0xff) return new Uint8Array(length);
  if (size <= 0xffff) return new Uint16Array(length);
  return new Uint32Array(length);
}
