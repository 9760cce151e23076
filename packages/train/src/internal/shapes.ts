/** Shape helpers of the checkpoint format; the base64 coding itself is @rnode/core's. */
export interface EncodedArray {
  shape: number[];
  data: string;
}

export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
}
