// The process's limit on open file descriptors. Every client connection takes one, as does every file,
// pipe, thread's event loop and database or Redis connection of the server's own: the limit is shared.
import { readFileSync } from 'node:fs';

/**
 * RLIMIT_NOFILE's soft limit, read from /proc (Node has no getrlimit; it raises the soft limit to the hard
 * one as it starts, and /proc shows the limit in force); undefined where there is no /proc (macOS) or the
 * limit is unlimited.
 */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const value = Number(soft);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
