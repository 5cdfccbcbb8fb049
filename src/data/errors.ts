// Named errors of the data layer. Messages say what was wrong, where, and what to do.

/** Title of the README section that documents the expected folder layout. */
export const DATA_LAYOUT_SECTION = 'Data layout';

/** A dataset folder or file is missing or not where the original project's layout puts it. */
export class DataLayoutError extends Error {
  override name = 'DataLayoutError';
  constructor(
    readonly expectedPath: string,
    what: string,
    hint?: string,
  ) {
    super(
      `${what}: expected ${expectedPath}, which does not exist.` +
        (hint ? ` ${hint}` : '') +
        ` See the README section '${DATA_LAYOUT_SECTION}' for the folder layout.`,
    );
  }
}

/** The dataset exists but `pipa prepare-data` has not been run on it (no *_labelTrainIds.png / RCS files). */
export class DataNotPreparedError extends Error {
  override name = 'DataNotPreparedError';
  constructor(
    readonly expectedPath: string,
    readonly command: string,
  ) {
    super(`${expectedPath} is missing: the dataset has not been prepared. Run \`${command}\` first.`);
  }
}

/** An image or label file could not be read or decoded. */
export class ImageReadError extends Error {
  override name = 'ImageReadError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot read ${path}: ${reason}`);
  }
}

/** A PNG byte stream is malformed or uses a feature this decoder does not support. */
export class PngFormatError extends Error {
  override name = 'PngFormatError';
}

/** The global batch cannot be split over the given ranks, or a rank/world pair is invalid. */
export class ShardingError extends Error {
  override name = 'ShardingError';
}

/** A pipeline/loader/synth option is invalid. */
export class DataConfigError extends Error {
  override name = 'DataConfigError';
}

/** An unknown or malformed synthetic style specification. */
export class SynthStyleError extends Error {
  override name = 'SynthStyleError';
}

/** Error raised inside a worker thread, re-created on the main thread with the original name and path. */
export class DataWorkerError extends Error {
  constructor(
    readonly originalName: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = originalName;
  }
}
