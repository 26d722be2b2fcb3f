/** The registry: every component kind, from the explicit lists of sources, operators and sinks. */
import type { ComponentSpec } from '../core/component.js';
import { sources } from '../sources/index.js';
import { operators } from '../operators/index.js';
import { sinks } from '../sinks/index.js';

/** Every component spec, sources first, each list in its declared order. */
export const allComponents: readonly ComponentSpec[] = [...sources, ...operators, ...sinks];

/** Looks a component up by kind. */
export function componentByKind(kind: string): ComponentSpec | undefined {
  return allComponents.find((spec) => spec.kind === kind);
}
