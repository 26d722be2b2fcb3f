/**
 * Opens the registry a location names: a folder (or `file://` URI) is the folder registry, an
 * `s3://` or `azure://` URI the object-store registry with the given connection settings, an
 * `mlflow+http(s)://host:port` URI MLflow's Model Registry on that tracking server.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreSettings } from '../storage/store-options.js';
import { ModelRegistry } from './model-registry.js';
import type { ModelRegistryApi } from './model-registry.js';

/** The registry at `location` (relative paths against `baseDir`). */
export async function openRegistry(location: string, baseDir: string, settings: StoreSettings = {}): Promise<ModelRegistryApi> {
  if (/^mlflow\+https?:\/\//i.test(location)) {
    const [{ MlflowClient, mlflowAuthorization }, { MlflowModelRegistry, mlflowUrl }] = await Promise.all([import('./mlflow-client.js'), import('./mlflow-model-registry.js')]);
    const authorization = mlflowAuthorization();
    return new MlflowModelRegistry(location, new MlflowClient({ url: mlflowUrl(location), timeoutMs: 30_000, ...(authorization === undefined ? {} : { authorization }) }));
  }
  if (/^(s3|azure):\/\//i.test(location)) {
    const [{ storeFor }, { RemoteModelRegistry }] = await Promise.all([import('../storage/store-for.js'), import('./remote-model-registry.js')]);
    return new RemoteModelRegistry(location, await storeFor(location, settings));
  }
  const folder = location.startsWith('file://') ? fileURLToPath(location) : path.resolve(baseDir, location);
  return new ModelRegistry(folder);
}
