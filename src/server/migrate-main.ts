// `npm run migrate`: brings the PostgreSQL database at DATABASE_URL to the collection store's schema and
// exits: 0 when it is up to date (having applied what it lacked), 1 otherwise. The API applies the same
// migrations at start; this is for deployments that migrate as a step of their own before a rollout.
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { migrate } from '../retrieval/collections/postgres/migrations.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.logLevel, base: { role: 'migrate' } });
  if (config.databaseUrl === undefined) throw new Error('DATABASE_URL is not set');
  const pool = new pg.Pool({ connectionString: config.databaseUrl, connectionTimeoutMillis: 5000, max: 1 });
  try {
    const client = await pool.connect();
    try {
      const applied = await migrate(client, log);
      log.info({ applied }, applied.length > 0 ? 'database migrated' : 'database already up to date');
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

main().catch((error: Error) => {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
});
