// Where job artifacts live: checksummed files under DATA_DIR for the inline queue, Redis hashes for BullMQ
// (so a worker on any machine can write what any API replica serves). Both expire with the job's retention.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { writeFileAtomically } from '../lib/atomic-file.js';
import { DamagedError } from '../server/errors.js';
import type { ArtifactEntry } from './job-store.js';
import type { Artifact } from './types.js';

export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Where a finished job's artifacts are put (executeJob's side of either store). */
export interface ArtifactSink {
  put(jobId: string, artifacts: Artifact[]): Promise<void>;
}

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

export class RedisArtifactStore implements ArtifactSink {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  private key(jobId: string): string {
    return `${this.prefix}:artifacts:${jobId}`;
  }

  async put(jobId: string, artifacts: Artifact[]): Promise<void> {
    if (artifacts.length === 0) return;
    const fields: Array<string | Buffer> = [];
    for (const artifact of artifacts) {
      fields.push(
        artifact.name,
        Buffer.from(artifact.data),
        `${artifact.name}:content-type`,
        artifact.contentType,
      );
    }
    await this.redis
      .multi()
      .hset(this.key(jobId), ...fields)
      .expire(this.key(jobId), this.ttlSeconds)
      .exec();
  }

  async get(jobId: string, name: string): Promise<Artifact | undefined> {
    if (!ARTIFACT_NAME.test(name)) return undefined;
    const [data, contentType] = await Promise.all([
      this.redis.hgetBuffer(this.key(jobId), name),
      this.redis.hget(this.key(jobId), `${name}:content-type`),
    ]);
    if (data === null || contentType === null) return undefined;
    return { name, contentType, data };
  }

  async remove(jobId: string): Promise<void> {
    await this.redis.del(this.key(jobId));
  }
}
