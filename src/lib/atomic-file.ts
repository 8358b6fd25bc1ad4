// Files written so that a crash leaves either the old file or the new one, never a mix: the bytes go to a
// temporary file beside the target, are flushed to disk, then renamed over it. A crash can leave only the
// temporary file, whose name carries TEMPORARY_MARK so a start-up sweep can remove it.
import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/** Marks files that are not complete: whoever owns the directory removes them at start. */
export const TEMPORARY_MARK = '.tmp-';

export async function writeFileAtomically(path: string, data: Uint8Array): Promise<void> {
  const temporary = `${path}${TEMPORARY_MARK}${randomUUID()}`;
  try {
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
