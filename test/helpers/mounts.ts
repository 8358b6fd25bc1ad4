// File systems mounted for a test (mount(8) needs root, as CI has; tests skip elsewhere and say why).
import { execFileSync } from 'node:child_process';

/** Mounts a tmpfs at `dir` with `options` (`size=4m`, `size=1m,ro`); false where this user may not mount. */
export function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
