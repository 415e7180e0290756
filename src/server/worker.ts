/**
 * The entry of a server worker thread (`--workers N`, N ≥ 1): a server thread (server-thread.ts) whose channel to
 * the main thread is its parentPort.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runServerThread } from './server-thread';
import type { WorkerData } from './thread-messages';

const data = workerData as WorkerData;
const main = parentPort!;
const thread = runServerThread(data, {
  post: (m) => main.postMessage(m),
  onMessage: (handler) => main.on('message', handler),
  exit: (code) => process.exit(code),
});

// A failing worker closes its sockets before it goes: exiting with uWS sockets open would abort the whole process.
// The main thread restarts it; its clients reconnect.
process.on('uncaughtException', (err) => {
  thread.log.fatal({ err: err.stack ?? err.message }, 'worker failed; closing its connections and exiting');
  thread.abort();
  setImmediate(() => process.exit(1));
});
