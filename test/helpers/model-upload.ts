// A model upload (PUT /v1/models/{name}/versions/{version}): its body — the file in base64 with its sha256,
// and any other settings — and the request, sent with inject.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

export function uploadBody(bytes: Uint8Array, settings: Record<string, unknown> = {}) {
  return {
    model: Buffer.from(bytes).toString('base64'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ...settings,
  };
}

/** Uploads `bytes` as `name`@`version` with `headers` (an admin key). */
export function uploadModel(
  app: FastifyInstance,
  name: string,
  version: string,
  bytes: Uint8Array,
  headers: Record<string, string>,
  settings: Record<string, unknown> = {},
) {
  return app.inject({
    method: 'PUT',
    url: `/v1/models/${name}/versions/${version}`,
    headers,
    payload: uploadBody(bytes, settings),
  });
}
