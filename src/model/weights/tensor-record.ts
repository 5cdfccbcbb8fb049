// A framework-free tensor as read from a checkpoint file: PyTorch shape, row-major data.
export type RecordDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export interface TensorRecord {
  dtype: RecordDtype;
  shape: number[];
  /** Row-major values. Floats of any width arrive as Float32Array, ints as Int32Array
   * (int64 values are range-checked on read), uint8/bool as Uint8Array. */
  data: Float32Array | Int32Array | Uint8Array;
}

/** Ordered name → tensor map, as in a PyTorch state_dict. */
export type StateDict = Map<string, TensorRecord>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Raised for any checkpoint that cannot be read; the message names the file and what is wrong. */
export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'CheckpointError';
  }
}
