// The PostgreSQL schema of the collection store, as numbered migrations applied in order, each in its own
// transaction and recorded in schema_migrations. Replicas starting together take an advisory lock, so a
// migration runs once; running them again (at every start, or `npm run migrate`) changes nothing.
//
// collections: name, configuration (model, metric, index settings, dimension) and the sequence of the
// change that created it (the incarnation: a name deleted and created again is another collection).
// collection_points: id, vector (float32, little-endian), payload and the sequence that last wrote it.
// collection_changes: one row per write, numbered by collection_sequence, whose single row every writer
// updates first, so writers take turns and a change becomes visible only after every lower one.
import type { PoolClient } from 'pg';
import type { Log } from '../../../lib/log.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'collections, points, applied index jobs, change log',
    sql: `
      CREATE TABLE collections (
        name text PRIMARY KEY,
        config jsonb NOT NULL,
        created_sequence bigint NOT NULL
      );
      CREATE TABLE collection_points (
        collection text NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
        id text NOT NULL,
        vector bytea NOT NULL,
        payload jsonb,
        version bigint NOT NULL,
        PRIMARY KEY (collection, id)
      );
      CREATE TABLE collection_applied_jobs (
        collection text NOT NULL REFERENCES collections (name) ON DELETE CASCADE,
        job_id text NOT NULL,
        sequence bigint NOT NULL,
        PRIMARY KEY (collection, job_id)
      );
      CREATE TABLE collection_changes (
        sequence bigint PRIMARY KEY,
        collection text NOT NULL,
        op text NOT NULL CHECK (op IN ('create', 'drop', 'upsert', 'delete', 'job')),
        ids text[] NOT NULL DEFAULT '{}',
        job_id text,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE collection_sequence (
        single boolean PRIMARY KEY DEFAULT true CHECK (single),
        value bigint NOT NULL
      );
      INSERT INTO collection_sequence (value) VALUES (0);
    `,
  },
];

/** Any 64-bit number, the same in every replica: the advisory lock migrations run under. */
const MIGRATION_LOCK = 7_314_500_221;

/** Applies the migrations this database lacks; the versions applied now (empty when it was up to date). */
export async function migrate(client: PoolClient, log: Log): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((row) => row.version));
    const known = MIGRATIONS.length;
    const newer = [...done].filter((version) => version > known);
    if (newer.length > 0) {
      throw new Error(
        `the database has schema version ${Math.max(...newer)}; this meanserve knows up to ${known}: upgrade it`,
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(migration.version);
      log.info({ version: migration.version, migration: migration.name }, 'migration applied');
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
