/**
 * The option types that describe how an image becomes model input (scale, fit, kernel, decoder), shared by
 * `decode-image` and the model manifest so that serving can be checked against training.
 */
import { Type } from '@sinclair/typebox';
import type { SchemaOptions, TLiteral, TUnion } from '@sinclair/typebox';

/** Pixel scalings: `unit` = /255, `symmetric` = [-1, 1], `uint8` = raw. */
export const PIXEL_SCALES = ['unit', 'symmetric', 'uint8'] as const;
/** How an image fits the target size (sharp's `fit`). */
export const FITS = ['fill', 'cover', 'contain', 'inside', 'outside'] as const;
/** Resize interpolation kernels (sharp's `kernel`). */
export const KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'] as const;
/** How JPEGs are decoded: `sharp` (full size, then resized), `jpeg-turbo` (DCT-domain scaling, Pillow's draft + BILINEAR). */
export const DECODERS = ['sharp', 'jpeg-turbo'] as const;

/** A schema accepting exactly one of `values`. */
export function oneOf<const T extends readonly string[]>(values: T, options: SchemaOptions): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((v: T[number]) => Type.Literal(v)), options);
}
