/** The resources nodes of one run share (see `SharedResources`): one map per run, made by the runtime. */
import type { ResourceKey, SharedResources } from '../core/component.js';
import { CentaurError } from '../core/errors.js';

/** A run's shared resources. */
export class RunResources implements SharedResources {
  private readonly values = new Map<string, unknown>();

  /** Makes `value` the run's `key` resource; a second provider is a config error (validation refuses it first). */
  provide<T>(key: ResourceKey<T>, value: T): void {
    if (this.values.has(key.name)) throw new CentaurError('CONFIG_INVALID', `two nodes provide \`${key.name}\`; a topology has one`);
    this.values.set(key.name, value);
  }

  /** The run's `key` resource, if a node provided it. */
  take<T>(key: ResourceKey<T>): T | undefined {
    return this.values.get(key.name) as T | undefined;
  }
}
