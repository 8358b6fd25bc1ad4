// The collection store this process uses: PostgreSQL when DATABASE_URL is set (loaded in the background,
// /health/ready says when it is done or why it cannot be), the files under DATA_DIR otherwise.
import type { Config } from '../../config.js';
import type { Log } from '../../lib/log.js';
import type { CollectionStore } from './collection-store.js';
import { FileCollectionStore } from './file-collection-store.js';
import { PostgresCollectionStore } from './postgres/postgres-collection-store.js';

export async function openCollectionStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'storageTimeoutMs'>,
  log: Log,
): Promise<CollectionStore> {
  if (config.databaseUrl === undefined) {
    const store = new FileCollectionStore(config.dataDir, log, config.storageTimeoutMs);
    await store.load();
    return store;
  }
  const store = new PostgresCollectionStore(config.databaseUrl, log, config.storageTimeoutMs);
  store.loadInBackground();
  return store;
}
