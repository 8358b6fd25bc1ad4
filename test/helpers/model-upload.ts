// The body of a model upload (PUT /v1/models/{name}/versions/{version}): the file in base64 with its sha256,
// and any other settings.
import { createHash } from 'node:crypto';

export function uploadBody(bytes: Uint8Array, settings: Record<string, unknown> = {}) {
  return {
    model: Buffer.from(bytes).toString('base64'),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    ...settings,
  };
}
