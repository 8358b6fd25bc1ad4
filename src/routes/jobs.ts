// Asynchronous jobs: submit (through the jobs service, which validates and checks before anything is
// queued), read, list, cancel, follow by server-sent events, and download artifacts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NotFoundError } from '../errors.js';
import { FINISHED_STATES, type JobEvent, type JobRecord } from '../jobs/job-record.js';
import { NoContent, problems } from '../schemas/common.js';
import {
  ArtifactPath,
  ArtifactReply,
  JobEventStream,
  JobList,
  JobListQuery,
  JobPath,
  JobSchema,
  JobTypeList,
  ParamsReply,
  SubmitBody,
  SubmitHeaders,
} from '../schemas/jobs.js';
import { EventWriter, openEventStream } from './event-stream.js';

/** Seconds between SSE comment lines that keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const withLinks = (job: JobRecord) => ({
    ...job,
    links: {
      self: `/v1/jobs/${job.id}`,
      events: `/v1/jobs/${job.id}/events`,
      ...(job.paramsBytes === undefined ? {} : { params: `/v1/jobs/${job.id}/params` }),
      artifacts: job.artifacts.map((name) => `/v1/jobs/${job.id}/artifacts/${name}`),
      plots: job.artifacts
        .filter((name) => name.endsWith('.svg'))
        .map((name) => `/v1/jobs/${job.id}/artifacts/${name}`),
    },
  });

  // Open event streams end when the server closes; otherwise they would hold the drain until its deadline.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of openStreams) end();
  });

  const mustGet = async (id: string) => {
    const job = await app.queue.get(id);
    if (job === undefined)
      throw new NotFoundError(`job '${id}' does not exist (or was removed by retention)`);
    return job;
  };

  app.get(
    '/v1/job-types',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List job types, each with the JSON schema of its params',
        response: { 200: JobTypeList },
      },
    },
    async () => ({
      data: app.jobs.types().map((jobType) => ({
        type: jobType.type,
        summary: jobType.summary,
        params_schema: jobType.params,
      })),
    }),
  );

  app.post(
    '/v1/jobs',
    {
      bodyLimit: app.config.inferenceBodyLimit,
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job (202). An Idempotency-Key header makes retries return the same job',
        headers: SubmitHeaders,
        body: SubmitBody,
        response: { 202: JobSchema, ...problems(400, 404, 409, 413, 415, 503, 507) },
      },
    },
    async (request, reply) => {
      const { type, params, seed } = request.body;
      const idempotencyKey = request.headers['idempotency-key'];
      const { job, created } = await app.jobs.submit({
        type,
        params,
        ...(seed === undefined ? {} : { seed }),
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(request.work === undefined ? {} : { signal: request.work }),
        ...(request.apiKeyName === undefined ? {} : { keyName: request.apiKeyName }),
      });
      request.log.info({ jobId: job.id, type, created }, 'job submitted');
      reply.code(202).header('location', `/v1/jobs/${job.id}`);
      if (!created) reply.header('idempotent-replayed', 'true');
      return withLinks(job);
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List jobs, newest first, filtered by type and state',
        querystring: JobListQuery,
        response: { 200: JobList, ...problems(400, 404, 503) },
      },
    },
    async (request) => {
      const { type, state, limit } = request.query;
      if (type !== undefined) app.jobs.jobType(type);
      const jobs = await app.queue.list({
        limit,
        ...(type === undefined ? {} : { type }),
        ...(state === undefined ? {} : { state }),
      });
      return { data: jobs.map(withLinks) };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Read a job: state, progress, result or error',
        params: JobPath,
        response: { 200: JobSchema, ...problems(400, 404, 503) },
      },
    },
    async (request) => withLinks(await mustGet(request.params.id)),
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel a queued or running job (409 when it already finished)',
        params: JobPath,
        response: { 200: JobSchema, ...problems(400, 404, 409, 503, 507) },
      },
    },
    async (request) => {
      const job = await app.queue.cancel(request.params.id);
      request.log.info({ jobId: job.id, state: job.state }, 'job cancel requested');
      return withLinks(job);
    },
  );

  app.get(
    '/v1/jobs/:id/artifacts/:name',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Download a file the job wrote',
        params: ArtifactPath,
        response: {
          200: ArtifactReply,
          ...problems(400, 404, 409, 503),
        },
      },
    },
    async (request, reply) => {
      const { id, name } = request.params;
      await mustGet(id);
      const artifact = await app.queue.artifact(id, name, (bytes: number) => reply.reserveAnswer(bytes));
      if (artifact === undefined) throw new NotFoundError(`job '${id}' has no artifact '${name}'`);
      // Plots open in the browser tab (they are drawn by the service, with no scripts); data files download.
      const disposition = artifact.contentType.startsWith('image/') ? 'inline' : 'attachment';
      reply.type(artifact.contentType).header('content-disposition', `${disposition}; filename="${name}"`);
      // A Buffer is sent as it is; the string schema above documents the response, it does not serialize it.
      return reply.send(Buffer.from(artifact.data) as unknown as string);
    },
  );

  app.get(
    '/v1/jobs/:id/params',
    {
      schema: {
        tags: ['jobs'],
        summary: "The job's params, as submitted (its record leaves them out when over 64 KiB)",
        params: JobPath,
        response: { 200: ParamsReply, ...problems(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const params = await app.queue.params(id, (bytes: number) => reply.reserveAnswer(bytes));
      if (params === undefined)
        throw new NotFoundError(`job '${id}' does not exist (or was removed by retention)`);
      reply.type('application/json; charset=utf-8');
      // Sent as stored, not parsed and serialized again (the schema documents the response).
      return reply.send(Buffer.from(params) as unknown as string);
    },
  );

  app.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        summary:
          'Follow a job as server-sent events: snapshot, progress, state, then completed | failed | cancelled',
        produces: ['text/event-stream'],
        params: JobPath,
        response: {
          200: JobEventStream,
          // To an EventSource reconnecting after the final event (Last-Event-ID): the stream is over.
          204: NoContent,
          ...problems(400, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const job = await mustGet(id);
      // HEAD (which Fastify routes here too) gets the stream's head and no body. Node holds a HEAD reply's
      // head until the reply ends, so following the job would have kept it waiting for the job's end.
      if (request.method === 'HEAD') {
        reply.hijack();
        openEventStream(reply);
        reply.raw.end();
        return;
      }
      // The final event carries an id, so an EventSource that reconnects after the stream has ended (as
      // browsers do, every few seconds, unless the page closes it) sends it back as Last-Event-ID: it has
      // seen the end, and 204 tells it to stop (EventSource does not reconnect after a non-200 answer).
      if (request.headers['last-event-id'] !== undefined && FINISHED_STATES.has(job.state)) {
        return reply.code(204).send(null);
      }
      const buffered: JobEvent[] = [];
      let forward: ((event: JobEvent) => void) | undefined;
      // Subscribe before reading the snapshot, so nothing falls between the two.
      const unsubscribe = await app.queue.subscribe(id, (event) =>
        forward ? forward(event) : buffered.push(event),
      );
      const snapshot = await app.queue.get(id);
      if (snapshot === undefined) {
        unsubscribe();
        throw new NotFoundError(`job '${id}' does not exist`);
      }

      reply.hijack();
      const raw = reply.raw;
      openEventStream(reply);
      app.metrics.sseStreams.inc();
      const events = new EventWriter(raw);
      // The final event, with its state as the id a reconnecting EventSource sends back (above); then the
      // stream ends. A collections.index job's comes once its points are in the collection, so a client
      // that follows it to the end can search them at once.
      const finish = async (final: JobRecord) => {
        await app.indexJobs.applied(final);
        if (closed) return;
        events.send(final.state, withLinks(final), final.state);
        close();
      };
      const heartbeat = setInterval(() => events.comment('keep-alive'), HEARTBEAT_MS);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        openStreams.delete(shutdown);
        clearInterval(heartbeat);
        unsubscribe();
        app.metrics.sseStreams.dec();
        raw.end();
      };
      // Tells the client to reconnect (to another replica) in a second, then ends the stream.
      const shutdown = () => {
        raw.write('retry: 1000\nevent: shutdown\ndata: {}\n\n');
        close();
      };
      openStreams.add(shutdown);
      // A client that goes away frees its subscription at once.
      raw.on('close', close);

      events.send('snapshot', withLinks(snapshot));
      if (FINISHED_STATES.has(snapshot.state)) {
        await finish(snapshot);
        return;
      }
      forward = (event) => {
        if (closed) return;
        if (event.kind === 'progress') events.latest('progress', event.progress);
        else if (event.kind === 'state') events.send('state', { state: event.state });
        else void finish(event.job);
      };
      for (const event of buffered.splice(0)) forward(event);
    },
  );
};

export default jobRoutes;
