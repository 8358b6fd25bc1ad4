// Errors that carry their HTTP meaning. Anything else that reaches the error handler is a 500 whose
// message is logged, never sent. Problem types are documented in docs/api.md#errors.

export interface FieldError {
  /** JSON pointer into the request, starting with its part: /body/params/n, /params/name, /query/limit. */
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  /** Stable machine-readable code; the problem `type` is `urn:meanserve:problem:<code>`. */
  readonly code: string;
  readonly title: string;
  readonly errors: FieldError[];
  /** Seconds a client should wait before retrying (503, 429). */
  readonly retryAfter: number | undefined;

  constructor(
    status: number,
    code: string,
    title: string,
    detail: string,
    options: { errors?: FieldError[]; retryAfter?: number } = {},
  ) {
    super(detail);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.title = title;
    this.errors = options.errors ?? [];
    this.retryAfter = options.retryAfter;
  }
}

export class InvalidInputError extends AppError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(400, 'invalid-input', 'Invalid input', detail, { errors });
  }
}

/** Throws one 400 listing every field error, if there is any. */
export function throwFieldErrors(errors: FieldError[]): void {
  if (errors.length > 0) {
    throw new InvalidInputError(errors.map((error) => `${error.path} ${error.message}`).join('; '), errors);
  }
}

export class NotFoundError extends AppError {
  constructor(detail: string) {
    super(404, 'not-found', 'Not found', detail);
  }
}

export class ConflictError extends AppError {
  constructor(detail: string) {
    super(409, 'conflict', 'Conflict', detail);
  }
}

/** Something stored on disk no longer matches its checksum: it is reported, never served. */
export class DamagedError extends AppError {
  constructor(detail: string) {
    super(409, 'damaged', 'Damaged on disk', detail);
  }
}

/** A request whose work is over a limit, though its body fit (decoded image pixels, say). */
export class TooLargeError extends AppError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(413, 'too-large', 'Payload too large', detail, { errors });
  }
}

/** A body in a media type the route does not read (Fastify answers the same for routes it parses itself). */
export class UnsupportedMediaTypeError extends AppError {
  constructor(detail: string) {
    super(415, 'unsupported-media-type', 'Unsupported media type', detail);
  }
}

/** Valid JSON the model cannot take: a model that is not a generator asked to generate, say. */
export class UnprocessableError extends AppError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(422, 'unprocessable', 'Unprocessable request', detail, { errors });
  }
}

export class OverloadedError extends AppError {
  constructor(detail: string, retryAfter = 1) {
    super(503, 'overloaded', 'Service overloaded', detail, { retryAfter });
  }
}

export class UnavailableError extends AppError {
  constructor(detail: string, retryAfter = 5) {
    super(503, 'unavailable', 'Service unavailable', detail, { retryAfter });
  }
}

/** A store with no room for the change (the job queue's Redis at its maxmemory): it was not saved. */
export class StorageFullError extends AppError {
  constructor(detail: string) {
    super(507, 'storage-full', 'Insufficient storage', detail);
  }
}

/**
 * The disk under DATA_DIR failed or stopped answering: nothing can be stored there (or read from it) now.
 * A disk that comes back, or a replica on another, serves the retry.
 */
export class StorageUnavailableError extends AppError {
  constructor(detail: string) {
    super(503, 'storage-unavailable', 'Service unavailable', detail, { retryAfter: 5 });
  }

  /**
   * A write the disk under `where` has not answered within `timeoutMs` (a hung disk): neither refused nor
   * confirmed, so it may still be saved once the disk answers; `retry` says how to repeat it safely.
   */
  static unanswered(where: string, timeoutMs: number, retry: string): StorageUnavailableError {
    return new StorageUnavailableError(
      `the disk under ${where} did not answer within ${timeoutMs} ms: this change is not confirmed, and may ` +
        `still be saved once the disk answers; ${retry}`,
    );
  }
}

/** A JSON body over a structural limit (depth, keys, array or string length): refused before it is used. */
export class JsonLimitError extends AppError {
  constructor(detail: string, errors: FieldError[]) {
    super(400, 'json-limit', 'JSON over a structural limit', detail, { errors });
  }
}

/**
 * A failure no retry can fix — params that cannot work, a model file that is not what the manifest says. A
 * job that throws one (or any AppError below 500) fails at once instead of being tried again.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

/** Codes of a write refused for want of space: Node's file system, SQLite's (better-sqlite3), PostgreSQL's disk_full. */
const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);
/** Codes of a disk that failed: an I/O error, a file system remounted read-only; SQLite's (and its extended codes). */
const STORAGE_FAILED = /^(EIO|EROFS|SQLITE_(IOERR|READONLY|CORRUPT|CANTOPEN)(_\w+)?)$/;

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/**
 * Whether `error` is a write the disk had no room for (or a quota refused). Not the client's fault, and
 * not an internal error either: the error handler answers 507 Insufficient Storage.
 */
export function isStorageFull(error: unknown): boolean {
  const code = errorCode(error);
  return typeof code === 'string' && STORAGE_FULL_CODES.has(code);
}

/** Whether `error` is the disk's, full, failed or not answering: a write that may succeed later, not a bug. */
export function isStorageError(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  const code = errorCode(error);
  return typeof code === 'string' && (STORAGE_FULL_CODES.has(code) || STORAGE_FAILED.test(code));
}
