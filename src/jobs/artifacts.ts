// Where job artifacts live: files under DATA_DIR for the inline queue, Redis hashes for BullMQ (so a worker on
// any machine can write what any API replica serves). Both expire with the job's retention.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { Artifact } from './types.js';

export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ArtifactStore {
  put(jobId: string, artifacts: Artifact[]): Promise<void>;
  get(jobId: string, name: string): Promise<Artifact | undefined>;
  remove(jobId: string): Promise<void>;
}

export class FileArtifactStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  async put(jobId: string, artifacts: Artifact[]): Promise<void> {
    const dir = join(this.root, jobId);
    await mkdir(dir, { recursive: true });
    for (const artifact of artifacts) {
      await writeFile(join(dir, artifact.name), artifact.data);
      await writeFile(join(dir, `${artifact.name}.content-type`), artifact.contentType);
    }
  }

  async get(jobId: string, name: string): Promise<Artifact | undefined> {
    if (!ARTIFACT_NAME.test(name)) return undefined;
    try {
      const dir = join(this.root, jobId);
      const [data, contentType] = await Promise.all([
        readFile(join(dir, name)),
        readFile(join(dir, `${name}.content-type`), 'utf8'),
      ]);
      return { name, contentType, data };
    } catch {
      return undefined;
    }
  }

  async remove(jobId: string): Promise<void> {
    await rm(join(this.root, jobId), { recursive: true, force: true });
  }
}

export class RedisArtifactStore implements ArtifactStore {
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
