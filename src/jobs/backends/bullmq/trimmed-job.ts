// A BullMQ job as its record shows it: without its params when they are large. BullMQ keeps a job's params
// in its data field, JSON that getJob reads whole — 32 MiB for an onnx.batch-infer job at the body limit,
// read for every job of a list (fifty made one reply of 1.6 GB) and at every poll of a followed job. A
// script reads the job's hash here with the data only when small; otherwise its first bytes, which hold
// the seed (submit puts it first), the one thing a record needs from the data beside the params.
import { Job, type JobJsonRaw, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RECORD_PARAMS_MAX_BYTES } from '../../../schemas/jobs.js';
import type { JobData, JobReturn } from './bullmq-shared.js';

/** Bytes of a large job's data read for its seed: `{"seed":<integer>,` fits many times over. */
const HEAD_BYTES = 64;

/** The job's hash as field, value pairs, with `dataBytes`, and `data` when small or `dataHead` when not. */
const TRIMMED_HASH = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local reply = {}
for _, name in ipairs(redis.call('HKEYS', key)) do
  if name ~= 'data' then
    reply[#reply + 1] = name
    reply[#reply + 1] = redis.call('HGET', key, name)
  end
end
if #reply == 0 then return reply end
local bytes = redis.call('HSTRLEN', key, 'data')
reply[#reply + 1] = 'dataBytes'
reply[#reply + 1] = tostring(bytes)
if bytes <= limit then
  reply[#reply + 1] = 'data'
  reply[#reply + 1] = redis.call('HGET', key, 'data')
else
  reply[#reply + 1] = 'dataHead'
  reply[#reply + 1] = string.sub(redis.call('HGET', key, 'data'), 1, tonumber(ARGV[2]))
end
return reply
`;

export interface TrimmedJob {
  job: Job<JobData, JobReturn>;
  /** Set when the params were left out: the size of the data that holds them. */
  paramsBytes?: number;
}

/** The job, its params left out when over RECORD_PARAMS_MAX_BYTES; undefined when it is gone. */
export async function readTrimmedJob(
  queue: Queue<JobData, JobReturn>,
  redis: Redis,
  id: string,
): Promise<TrimmedJob | undefined> {
  const flat = (await redis.eval(
    TRIMMED_HASH,
    1,
    queue.toKey(id),
    RECORD_PARAMS_MAX_BYTES,
    HEAD_BYTES,
  )) as string[];
  if (flat.length === 0) return undefined;
  const fields: Record<string, string> = {};
  for (let at = 0; at < flat.length; at += 2) fields[flat[at] as string] = flat[at + 1] as string;
  const { dataBytes, dataHead, ...hash } = fields;
  if (dataHead === undefined) return { job: Job.fromJSON(queue, hash as unknown as JobJsonRaw, id) };
  const paramsBytes = Number(dataBytes);
  const seed = /^\{"seed":(-?\d+),/.exec(dataHead)?.[1];
  if (seed === undefined) {
    // Submitted before the seed came first: read whole, once.
    const whole = await queue.getJob(id);
    return whole === undefined || whole === null ? undefined : { job: whole, paramsBytes };
  }
  const data = JSON.stringify({ seed: Number(seed) });
  return { job: Job.fromJSON(queue, { ...hash, data } as unknown as JobJsonRaw, id), paramsBytes };
}
