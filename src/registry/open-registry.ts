/**
 * Opens the registry a location names: a folder (or `file://` URI) is the folder registry, an
 * `s3://` or `azure://` URI the object-store registry with the given connection settings.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreSettings } from '../storage/store-options.js';
import { ModelRegistry } from './model-registry.js';
import type { ModelRegistryApi } from './model-registry.js';

/** The registry at `location` (relative paths against `baseDir`). */
export async function openRegistry(location: string, baseDir: string, settings: StoreSettings = {}): Promise<ModelRegistryApi> {
  if (/^(s3|azure):\/\//i.test(location)) {
    const [{ storeFor }, { RemoteModelRegistry }] = await Promise.all([import('../storage/store-for.js'), import('./remote-model-registry.js')]);
    return new RemoteModelRegistry(location, await storeFor(location, settings));
  }
  const folder = location.startsWith('file://') ? fileURLToPath(location) : path.resolve(baseDir, location);
  return new ModelRegistry(folder);
}
