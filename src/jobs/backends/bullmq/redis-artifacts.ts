// BullMQ's artifacts: Redis hashes, so a worker on any machine can write what any API replica serves; they
// expire with the job's retention.
import type { Redis } from 'ioredis';
import { ARTIFACT_NAME } from '../../../schemas/jobs.js';
import type { ArtifactSink } from '../../artifacts.js';
import type { Artifact } from '../../job-record.js';

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

  /** The artifact's bytes without reading them (0 when there is none). */
  async size(jobId: string, name: string): Promise<number> {
    return this.redis.hstrlen(this.key(jobId), name);
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
