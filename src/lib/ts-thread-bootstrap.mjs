// Worker threads do not inherit tsx's loader on Node 20, so a thread started from TypeScript sources
// (npm start, npm test) registers tsx here first and then imports its real entry module.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
