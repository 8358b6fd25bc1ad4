// The server process: build the app, listen, and drain on SIGTERM/SIGINT — readiness turns 503, the listener
// stops accepting, in-flight requests and running inline jobs finish within SHUTDOWN_TIMEOUT_MS (then are
// cancelled), the queue closes, and the process exits 0 (1 if the hard deadline passed or start-up failed).
// The last line of defence: a promise rejection nobody handled is logged and the server serves on (no state
// was left half-changed by it); an uncaught exception may have been thrown halfway through a change, so it
// is logged and the process drains and exits 1 for its supervisor to restart it. Jobs survive either way.

import { loadConfig } from '../config.js';
import { UnavailableError } from '../errors.js';
import { buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp(config);
  let stopping = false;
  const stop = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    app.draining = true;
    app.log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down');
    // Inline jobs get SHUTDOWN_TIMEOUT_MS, then JOB_CANCEL_GRACE_MS to stop before their processes are
    // killed; the last 5 s are for closing the rest.
    const deadline = setTimeout(
      () => {
        app.log.error('shutdown deadline passed; exiting with work unfinished');
        process.exit(1);
      },
      config.shutdownTimeoutMs + config.jobs.cancelGraceMs + 5000,
    );
    deadline.unref();
    // Requests still in flight then are cancelled: what waits in a queue leaves it, and a run of an uploaded
    // model (which its deadline, 120 s by default, would not end before the hard exit) is killed with its
    // process INFERENCE_CANCEL_GRACE_MS later, so the drain can end.
    const cancelling = setTimeout(
      () => app.cancelRequests(new UnavailableError('the server is shutting down')),
      config.shutdownTimeoutMs,
    );
    cancelling.unref();
    // Connections that fall idle during the drain (a keep-alive client after its last answer) are closed
    // too: the close itself only closes those idle when it begins, and each of the others held it until
    // its client let go (undici: 4 s) or KEEP_ALIVE_TIMEOUT_MS passed.
    const reaping = setInterval(() => app.server.closeIdleConnections(), 100);
    reaping.unref();
    try {
      await app.close();
      app.log.info('shut down cleanly');
      process.exit(exitCode);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    app.log.error({ err: reason }, 'unhandled promise rejection; serving on');
  });
  process.on('uncaughtException', (error) => {
    app.log.fatal({ err: error }, 'uncaught exception; draining and exiting');
    void stop('uncaughtException', 1);
  });
  await app.listen({ port: config.port, host: config.host });
  app.log.info({ queue: app.queue.backend, providers: config.executionProviders }, 'meanserve listening');
}

main().catch((error: Error) => {
  console.error(`meanserve failed to start: ${error.message}`);
  process.exit(1);
});
