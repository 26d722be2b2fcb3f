/**
 * Sizes libuv's thread pool before its first use. Decodes (sharp), file reads and onnxruntime's
 * async runs all hold a pool thread while they work; with Node's default of 4, a running batch or
 * two starve the decoders and the pipeline stops overlapping. Import this module first in every
 * entry point; a UV_THREADPOOL_SIZE set by the user wins.
 */
export const DEFAULT_UV_THREADPOOL_SIZE = 8;

process.env.UV_THREADPOOL_SIZE ??= String(DEFAULT_UV_THREADPOOL_SIZE);
