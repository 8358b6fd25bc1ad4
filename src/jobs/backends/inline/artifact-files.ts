// The inline queue's artifacts: checksummed files under DATA_DIR/jobs/artifacts, their listing in the job
// store.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DamagedError } from '../../../errors.js';
import { writeFileAtomically } from '../../../lib/atomic-file.js';
import type { Artifact } from '../../job-record.js';
import type { ArtifactEntry } from './job-store.js';

/**
 * The inline queue's artifacts: one file each under DATA_DIR/jobs/artifacts/<job id>/, written atomically;
 * their listing and SHA-256 live in the job store, and every read is checked against them.
 */
export class FileArtifactStore {
  constructor(private readonly root: string) {}

  /** Writes the files and returns their listing (digests included) for the job store. */
  async write(jobId: string, artifacts: Artifact[]): Promise<ArtifactEntry[]> {
    const dir = join(this.root, jobId);
    await mkdir(dir, { recursive: true });
    const entries: ArtifactEntry[] = [];
    for (const artifact of artifacts) {
      await writeFileAtomically(join(dir, artifact.name), artifact.data);
      entries.push({
        name: artifact.name,
        contentType: artifact.contentType,
        bytes: artifact.data.byteLength,
        sha256: createHash('sha256').update(artifact.data).digest('hex'),
      });
    }
    return entries;
  }

  /** The artifact's bytes, if they are still the ones written; a DamagedError otherwise. */
  async read(jobId: string, entry: ArtifactEntry): Promise<Artifact> {
    let data: Buffer;
    try {
      data = await readFile(join(this.root, jobId, entry.name));
    } catch (error) {
      throw new DamagedError(
        `artifact ${entry.name} of job ${jobId} cannot be read: ${(error as Error).message}`,
      );
    }
    if (data.length !== entry.bytes || createHash('sha256').update(data).digest('hex') !== entry.sha256) {
      throw new DamagedError(
        `artifact ${entry.name} of job ${jobId} does not match its checksum; run the job again`,
      );
    }
    return { name: entry.name, contentType: entry.contentType, data };
  }

  async remove(jobId: string): Promise<void> {
    await rm(join(this.root, jobId), { recursive: true, force: true });
  }

  /** Start-up: removes the directories of jobs not in `keep` (a crash between writing and recording). */
  async sweep(keep: Set<string>): Promise<number> {
    await mkdir(this.root, { recursive: true });
    const stale = (await readdir(this.root)).filter((jobId) => !keep.has(jobId));
    await Promise.all(stale.map((jobId) => this.remove(jobId)));
    return stale.length;
  }
}
