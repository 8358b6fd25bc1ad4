// Secrets a client may put in a URL or a header, kept out of logs and error bodies. A query parameter is a
// secret when its name says so (api_key, apikey, key, token, access_token, password, …) or when its value is
// a configured key, whatever the parameter is called.

/** Query parameter and header names whose values are credentials. */
const SECRET_NAME =
  /^(x[-_])?(api[-_]?key|apikey|key|token|access[-_]?token|auth|authorization|password|secret)$/i;

export const REDACTED = '[redacted]';

/** Credential headers pino blanks wherever a log line carries `headers` (an error of an HTTP client, say). */
export const REDACTED_LOG_PATHS = ['headers.authorization', 'headers["x-api-key"]', 'headers["api-key"]'];

/**
 * The URL with the value of every secret query parameter replaced by [redacted]; `knownSecrets` are the
 * configured keys, redacted under any parameter name. The path and the other parameters stay as sent.
 */
export function redactUrl(url: string, knownSecrets: ReadonlySet<string> = new Set()): string {
  const question = url.indexOf('?');
  if (question < 0) return url;
  const query = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      const name = safeDecode(pair.slice(0, equals));
      const value = safeDecode(pair.slice(equals + 1));
      return SECRET_NAME.test(name) || knownSecrets.has(value)
        ? `${pair.slice(0, equals)}=${REDACTED}`
        : pair;
    })
    .join('&');
  return `${url.slice(0, question)}?${query}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}
