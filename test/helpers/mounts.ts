// File systems mounted for a test (mount(8) needs root, as CI has; tests skip elsewhere and say why).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
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

export interface TestExt4 {
  mountPoint: string;
  /** The loop device; undefined where it could not be made and mounted (`why` says why). */
  device: string | undefined;
  why: string | undefined;
  /** Unmounts (lazily: one shut down under a process is still busy), frees the loop device, removes all. */
  remove(): Promise<void>;
}

/** Runs a command for its standard output, trimmed; throws when it fails. */
export const run = (command: string, args: string[]) =>
  execFileSync(command, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    .toString()
    .trim();

/**
 * A fresh 64 MiB ext4 on a loop device, mounted on a new temporary directory named from `prefix`. `tool`
 * is the program the test breaks it with (xfs_io, fsfreeze): without it, or without root, there is none.
 */
export async function temporaryExt4(prefix: string, tool: 'xfs_io' | 'fsfreeze'): Promise<TestExt4> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const mountPoint = join(dir, 'mnt');
  const image = join(dir, 'disk.img');
  let device: string | undefined;
  let why: string | undefined;
  try {
    await mkdir(mountPoint);
    await writeFile(image, '');
    await truncate(image, 64 * 1024 * 1024);
    run(tool, ['-V']);
    device = run('losetup', ['-f', '--show', image]);
    run('mkfs.ext4', ['-q', device]);
    run('mount', [device, mountPoint]);
  } catch (error) {
    if (device !== undefined) run('losetup', ['-d', device]);
    device = undefined;
    why = `needs root, a loop device, mkfs.ext4 and ${tool} (${(error as Error).message.split('\n')[0]})`;
  }
  return {
    mountPoint,
    device,
    why,
    remove: async () => {
      if (device !== undefined) {
        execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
        execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
