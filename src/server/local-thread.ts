/**
 * A server thread on the main thread (`--workers 0`, the default): what a Worker is to the pool, without a thread.
 * Frames are published by a direct call during the fan-out (nothing copied, posted or answered per read: on this
 * class of machine each cross-thread hand-off and its reply cost more than publishing a read to a few hundred
 * clients), and messages are delivered by direct calls.
 *
 * Messages are delivered synchronously, as the pool's ordering needs: a catch-up answer is built and handed over in
 * one step, so no frame can be published between them (see src/ingest/catchup.ts). The pool never waits for an
 * answer to a message it is still posting (the frames of a read, the only such exchange, are not messages here).
 */
import { EventEmitter } from 'node:events';
import { runServerThread, ServerThread } from './server-thread';
import type { MainToWorker, WorkerData, WorkerToMain } from './thread-messages';

export class LocalThread extends EventEmitter {
  private handler: ((m: MainToWorker) => void) | undefined;
  private readonly thread: ServerThread;

  constructor(data: WorkerData) {
    super();
    this.thread = runServerThread(data, {
      // Its first message ('listening', or an exit) comes after a listen that is always asynchronous: by then the
      // pool has attached its listeners.
      post: (m: WorkerToMain) => this.emit('message', m),
      onMessage: (handler) => (this.handler = handler),
      exit: (code) => this.emit('exit', code),
    });
  }

  postMessage(m: MainToWorker): void {
    this.handler!(m);
  }

  publish(topic: string, frame: string | Uint8Array, isBinary: boolean): void {
    this.thread.publish(topic, frame, isBinary);
  }
}
