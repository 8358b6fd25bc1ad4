// File systems mounted for a test (mount(8) needs root, as CI has; tests skip elsewhere and say why).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why a test that needs a tmpfs of its own skipped. */
export const CANNOT_MOUNT = 'mounting a tmpfs needs root (mount refused)';

export interface TestTmpfs {
  dir: string;
  /** False where this user may not mount: `dir` is then a plain temporary directory. */
  mounted: boolean;
  /** Unmounts and removes `dir`. */
  remove(): Promise<void>;
}

/** A tmpfs with `options` (`size=4m`, `size=1m,ro`) on a new temporary directory named from `prefix`. */
export async function temporaryTmpfs(prefix: string, options: string): Promise<TestTmpfs> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let mounted = true;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    mounted = false;
  }
  return {
    dir,
    mounted,
    remove: async () => {
      if (mounted) execFileSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
