// Points as PostgreSQL rows: vectors travel as bytea (float32, little-endian, the layout of the in-memory
// index), payloads as jsonb, and batches as arrays unnested in one INSERT per few thousand points.
import type { PoolClient } from 'pg';
import type { Point } from '../collection.js';
import type { Payload } from '../payload-filter.js';

/** Points per INSERT statement (each statement carries three arrays of this length). */
const POINTS_PER_INSERT = 2000;

export interface PointRow {
  id: string;
  vector: Buffer;
  payload: Payload | null;
}

export function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A stored vector, copied so that it is aligned for a Float32Array whatever offset the driver's buffer has. */
export function vectorOf(row: PointRow): Float32Array {
  const copy = new Uint8Array(row.vector.length);
  copy.set(row.vector);
  return new Float32Array(copy.buffer);
}

/** Inserts or replaces points, written by change `version`; of ids repeated in `points` the last one wins. */
export async function writePoints(
  client: PoolClient,
  collection: string,
  points: Point[],
  version: number,
): Promise<string[]> {
  const latest = new Map(points.map((point) => [point.id, point]));
  const unique = [...latest.values()];
  for (let start = 0; start < unique.length; start += POINTS_PER_INSERT) {
    const batch = unique.slice(start, start + POINTS_PER_INSERT);
    await client.query(
      `INSERT INTO collection_points (collection, id, vector, payload, version)
       SELECT $1, point.id, point.vector, point.payload, $5
         FROM unnest($2::text[], $3::bytea[], $4::jsonb[]) AS point (id, vector, payload)
       ON CONFLICT (collection, id) DO UPDATE
         SET vector = excluded.vector, payload = excluded.payload, version = excluded.version`,
      [
        collection,
        batch.map((point) => point.id),
        batch.map((point) => vectorBytes(point.vector)),
        batch.map((point) => (point.payload === undefined ? null : JSON.stringify(point.payload))),
        version,
      ],
    );
  }
  return [...latest.keys()];
}
