// Raised when augmentation parameters (drawn or replayed) or image shapes are invalid.
export class AugmentParamsError extends Error {
  override name = 'AugmentParamsError';
}
