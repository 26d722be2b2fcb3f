/**
 * Finds the store for a URI: `storeFor` builds one (loading the cloud SDK only then, so a
 * topology without s3:// or azure:// never loads it), and `StoreResolver` keeps one store per
 * scheme for components that see many URIs.
 */
import type { ObjectStore } from './object-store.js';
import { parseObjectUri } from './object-uri.js';
import type { ObjectScheme } from './object-uri.js';
import type { StoreSettings } from './store-options.js';

/** Builds the store that serves `uri`'s scheme; throws OBJECT_FETCH_FAILED for a malformed or unsupported URI. */
export async function storeFor(uri: string, settings: StoreSettings = {}): Promise<ObjectStore> {
  return createStore(parseObjectUri(uri).scheme, settings);
}

/** One lazily built store per scheme, shared by every URI of that scheme. */
export class StoreResolver {
  private readonly stores = new Map<ObjectScheme, Promise<ObjectStore>>();

  constructor(private readonly settings: StoreSettings = {}) {}

  /** The store for `uri`'s scheme, built on first use. */
  storeFor(uri: string): Promise<ObjectStore> {
    const scheme = parseObjectUri(uri).scheme;
    let store = this.stores.get(scheme);
    if (store === undefined) {
      store = createStore(scheme, this.settings);
      this.stores.set(scheme, store);
      // A store that could not be built (bad connection settings) is tried again next time.
      store.catch(() => this.stores.delete(scheme));
    }
    return store;
  }

  /** Closes every store built so far. */
  async close(): Promise<void> {
    const stores = [...this.stores.values()];
    this.stores.clear();
    for (const store of stores) await (await store.catch(() => undefined))?.close();
  }
}

async function createStore(scheme: ObjectScheme, settings: StoreSettings): Promise<ObjectStore> {
  switch (scheme) {
    case 'file': {
      const { FileStore } = await import('./file-store.js');
      return new FileStore();
    }
    case 's3': {
      const { createS3Store } = await import('./s3-store.js');
      return createS3Store(settings);
    }
    case 'azure': {
      const { createAzureStore } = await import('./azure-store.js');
      return createAzureStore(settings);
    }
  }
}
