// The last pass over the OpenAPI document before it is served, for the generators and linters that read it:
// a stable operationId on every operation (its method and path), a `servers` entry, request fields that have
// a default marked optional (the server fills them in), the optional fields of bodies that take null as
// left out marked nullable (the OpenAI-compatible routes), and error responses under the content type the
// server really sends, which the swagger transform marked on each operation from its route's config
// (route-policy.ts errorMediaType: problem+json, or application/json where clients read their own shapes).

type Json = Record<string, unknown>;

/** The mark the swagger transform leaves on an operation: the media type its route's errors are sent as. */
export const ERROR_MEDIA = 'x-meanserve-error-media';

/** The mark of an operation whose body takes a top-level null as the field left out (openai-nulls.ts). */
export const NULL_IS_ABSENT = 'x-meanserve-null-is-absent';

type Operation = {
  operationId?: string;
  parameters?: Array<Json & { schema?: Json; required?: boolean }>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
  [ERROR_MEDIA]?: string;
  [NULL_IS_ABSENT]?: boolean;
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** `post` `/v1/jobs/{id}/artifacts/{name}` → `postV1JobsByIdArtifactsByName`. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((part) => part !== '')
    .map((part) => (part.startsWith('{') ? `by-${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter((word) => word !== '');
  return method + words.map((word) => word[0]?.toUpperCase() + word.slice(1)).join('');
}

/** Removes properties that have a default from `required`, at every depth of a request schema. */
function optionalDefaults(schema: unknown): void {
  if (schema === null || typeof schema !== 'object') return;
  if (Array.isArray(schema)) {
    for (const item of schema) optionalDefaults(item);
    return;
  }
  const node = schema as Json;
  const properties = node.properties as Record<string, Json> | undefined;
  if (properties !== undefined && Array.isArray(node.required)) {
    node.required = (node.required as string[]).filter((name) => properties[name]?.default === undefined);
    if ((node.required as string[]).length === 0) delete node.required;
  }
  for (const value of Object.values(node)) optionalDefaults(value);
}

/**
 * A body schema whose optional top-level fields may also be null, as the route takes them (left out). New
 * objects throughout: the schemas of several routes share field schemas.
 */
function nullableOptionals(schema: Json | undefined): Json | undefined {
  if (schema?.properties === undefined) return schema;
  const required = new Set((schema.required ?? []) as string[]);
  const properties: Record<string, Json> = {};
  for (const [name, property] of Object.entries(schema.properties as Record<string, Json>)) {
    properties[name] = required.has(name) ? property : nullable(property);
  }
  return { ...schema, properties };
}

function nullable(property: Json): Json {
  const members = property.anyOf as Json[] | undefined;
  if (members !== undefined) {
    return members.some((member) => member.type === 'null')
      ? property
      : { ...property, anyOf: [...members, { type: 'null' }] };
  }
  if (typeof property.type === 'string' && property.const === undefined && property.enum === undefined) {
    return { ...property, type: [property.type, 'null'] };
  }
  const { description, ...rest } = property;
  return { ...(description === undefined ? {} : { description }), anyOf: [rest, { type: 'null' }] };
}

/** The mark of a request body schema that the route also takes with no body at all. */
export const OPTIONAL_BODY = 'x-optional-body';

export function polishOpenapi(document: Json): Json {
  document.servers = [
    { url: '/', description: 'This server (paths are relative to where the document is served).' },
  ];
  const paths = (document.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      operation.operationId ??= operationIdOf(method, path);
      for (const media of Object.values(operation.requestBody?.content ?? {})) {
        optionalDefaults(media.schema);
        if (operation[NULL_IS_ABSENT] === true) media.schema = nullableOptionals(media.schema);
        // A body schema marked so may be left out entirely (the repository extension's POSTs, which
        // Triton's clients send empty).
        if (media.schema?.[OPTIONAL_BODY] === true && operation.requestBody !== undefined) {
          delete media.schema[OPTIONAL_BODY];
          operation.requestBody.required = false;
        }
      }
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'path' && parameter.schema?.default !== undefined) parameter.required = false;
      }
      delete operation[NULL_IS_ABSENT];
      const errorType = operation[ERROR_MEDIA] ?? 'application/problem+json';
      delete operation[ERROR_MEDIA];
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        // The route's own media type (text/plain for /metrics, say) says nothing of its errors.
        const media = Object.values(response.content ?? {})[0];
        if (Number(status) < 400 || media === undefined) continue;
        response.content = { [errorType]: media };
      }
    }
  }
  return document;
}
