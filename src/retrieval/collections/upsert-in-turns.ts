// Points go into a collection a few at a time, the event loop given back every TURN_MS. HNSW insertion runs
// on the event loop and takes milliseconds a point in a graph of high degree: one upsert of 1 000 points of
// 1 024 floats at m = 128, ef_construction = 2 000 held it for 3.8 s, /health/live unanswered meanwhile.
import { setImmediate } from 'node:timers/promises';
import type { Collection, Point } from './collection.js';

/** The longest points go in without a turn of the event loop between, ms. */
const TURN_MS = 10;
/** Points added between two looks at the clock. */
const STEP = 8;

/**
 * Upserts `points`, in order (a later duplicate id wins), into the collection `target()` names at each step
 * (it may throw: a collection deleted or re-created meanwhile).
 */
export async function upsertInTurns(target: () => Collection, points: Point[]): Promise<void> {
  let turn = performance.now();
  for (let at = 0; at < points.length; at += STEP) {
    target().upsert(points.slice(at, at + STEP));
    if (performance.now() - turn > TURN_MS) {
      await setImmediate();
      turn = performance.now();
    }
  }
}
