// Whether a directory can still be written: a small file written, flushed to the disk and removed. A disk
// that failed (I/O errors, a file system remounted read-only) fails every write to it, and what the code
// sees is whatever the call reports — EIO, EROFS, SQLite's "disk I/O error", even ENOENT for a file created
// on an ext4 that shut down. The probe is the one answer to "is it the disk?" whatever the symptom was.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isStorageFull } from '../errors.js';

export type ProbeResult =
  | { ok: true }
  /**
   * `reason`: the error in full, paths included (logs, readiness); `code`: the error code alone (`EIO`,
   * `EROFS`, `timeout`), for clients; `full`: no room (or quota) rather than a failed disk.
   */
  | { ok: false; reason: string; code: string; full: boolean };

export class StorageProbe {
  private last: ProbeResult = { ok: true };
  private inFlight: Promise<ProbeResult> | undefined;
  /**
   * The probe's write, until it settles: a hung disk holds a thread of libuv's small pool per call, so
   * while one write hangs no other is started.
   */
  private writing: Promise<ProbeResult> | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** A disk that does not answer a small write within `timeoutMs` is as good as failed (a hung network mount). */
  constructor(
    private readonly dir: string,
    private readonly timeoutMs: number,
  ) {}

  /** Probes every `intervalMs` from now on, so readiness sees a failed disk even when nothing writes. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  /** The last probe's failure when the disk failed (not when it was only full), else undefined. */
  failure(): string | undefined {
    return this.last.ok || this.last.full ? undefined : this.last.reason;
  }

  /**
   * Probes now, or joins the probe under way (a failing disk fails many requests at once). No earlier
   * result answers: one from before the disk failed would clear the error that asks.
   */
  check(): Promise<ProbeResult> {
    this.inFlight ??= this.probe().then((result) => {
      this.last = result;
      this.inFlight = undefined;
      return result;
    });
    return this.inFlight;
  }

  /** Stops probing; resolves once a probe under way has finished (it may be making the directory). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }

  private async probe(): Promise<ProbeResult> {
    let timeout: NodeJS.Timeout | undefined;
    const hung = new Promise<ProbeResult>((resolve) => {
      timeout = setTimeout(
        () =>
          resolve({
            ok: false,
            reason: `a write did not finish within ${this.timeoutMs} ms`,
            code: 'timeout',
            full: false,
          }),
        this.timeoutMs,
      );
    });
    this.writing ??= this.writeAndRemove().finally(() => {
      this.writing = undefined;
    });
    try {
      return await Promise.race([this.writing, hung]);
    } finally {
      clearTimeout(timeout);
    }
  }

  private async writeAndRemove(): Promise<ProbeResult> {
    const path = join(this.dir, `.storage-probe-${randomUUID()}`);
    try {
      await makeDirectory(this.dir);
      const file = await open(path, 'w');
      try {
        await file.writeFile('probe');
        await file.sync();
      } finally {
        await file.close();
      }
      await rm(path);
      return { ok: true };
    } catch (error) {
      await rm(path, { force: true }).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      return { ok: false, reason: (error as Error).message, code, full: isStorageFull(error) };
    }
  }
}

/**
 * mkdir -p that reports why: Node's recursive mkdir says ENOENT where the file system is read-only, so the
 * first missing directory is made on its own, which reports EROFS (or whatever stops it).
 */
async function makeDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let missing = dir;
    while (!(await exists(dirname(missing)))) missing = dirname(missing);
    await mkdir(missing); // throws the real reason, where there is one
    await mkdir(dir, { recursive: true });
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
