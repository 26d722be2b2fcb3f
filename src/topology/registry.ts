/** The registry: every component kind, from the explicit lists of sources, operators and sinks. */
import type { ComponentSpec } from '../core/component.js';
import type { MetricFamily } from '../core/metric-family.js';
import { sources } from '../sources/index.js';
import { operators } from '../operators/index.js';
import { sinks } from '../sinks/index.js';

/** Every component spec, sources first, each list in its declared order. */
export const allComponents: readonly ComponentSpec[] = [...sources, ...operators, ...sinks];

/** Looks a component up by kind. */
export function componentByKind(kind: string): ComponentSpec | undefined {
  return allComponents.find((spec) => spec.kind === kind);
}

/** The metric families every component declares, each name once: registered by every run, so dashboards and alerts see them before the first input. */
export function allMetricFamilies(): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const spec of allComponents) for (const family of spec.metrics ?? []) byName.set(family.name, family);
  return [...byName.values()];
}
