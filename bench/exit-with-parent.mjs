// Preloaded into the servers bench/http.ts starts. If the benchmark dies without cleaning up (SIGKILL, a
// crash), its end of the IPC channel closes and the server is sent SIGTERM, so nothing is left listening.
// The channel is unref'd so that it never keeps a server alive on its own. Plain JavaScript because
// meanserve's worker threads inherit the preload and load it before tsx is registered there; they have no
// channel, so for them it does nothing.
process.channel?.unref();
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
