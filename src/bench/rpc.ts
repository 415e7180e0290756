/**
 * Request/response over a message channel, for the benchmark's helpers: the orchestrator drives its child
 * processes (producer, load generator) through their IPC channel, and the load generator drives its worker threads
 * through theirs. One small protocol for both, so each helper is a table of named handlers.
 */
import { ChildProcess } from 'node:child_process';
import { MessagePort, Worker } from 'node:worker_threads';

export interface Channel {
  send(msg: unknown): void;
  onMessage(fn: (msg: unknown) => void): void;
}

interface Request {
  rpc: number;
  cmd: string;
  arg: unknown;
}

interface Reply {
  rpc: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export class RpcError extends Error {
  readonly code = 'BENCH_RPC_FAILED';
  constructor(cmd: string, message: string) {
    super(`${cmd}: ${message}`);
    this.name = 'RpcError';
  }
}

export class RpcClient {
  private next = 1;
  private readonly pending = new Map<number, { cmd: string; resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(private readonly channel: Channel) {
    channel.onMessage((msg) => {
      const reply = msg as Reply;
      const p = this.pending.get(reply.rpc);
      if (p === undefined) return;
      this.pending.delete(reply.rpc);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new RpcError(p.cmd, reply.error ?? 'failed'));
    });
  }

  call<T>(cmd: string, arg: unknown = null): Promise<T> {
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(rpc, { cmd, resolve: resolve as (v: unknown) => void, reject });
      this.channel.send({ rpc, cmd, arg } satisfies Request);
    });
  }

  /** Fails every call still waiting: the other side is gone and will never answer. */
  abandon(reason: string): void {
    for (const [rpc, p] of this.pending) {
      this.pending.delete(rpc);
      p.reject(new RpcError(p.cmd, reason));
    }
  }
}

export type Handlers = Record<string, (arg: never) => unknown>;

export function serveRpc(channel: Channel, handlers: Handlers): void {
  channel.onMessage((msg) => {
    const req = msg as Request;
    const handler = handlers[req.cmd] as ((arg: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${req.cmd}`);
        return handler(req.arg);
      })
      .then(
        (value) => channel.send({ rpc: req.rpc, ok: true, value } satisfies Reply),
        (err: unknown) => channel.send({ rpc: req.rpc, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply),
      );
  });
}

export function childChannel(child: ChildProcess): Channel {
  return { send: (msg) => child.send(msg as object), onMessage: (fn) => child.on('message', fn) };
}

/** This process's side of the IPC channel its parent opened. */
export function parentProcessChannel(): Channel {
  if (process.send === undefined) throw new Error('started without an IPC channel: this is a helper of dist/bench/run.js');
  return { send: (msg) => process.send!(msg), onMessage: (fn) => process.on('message', fn) };
}

export function workerChannel(port: Worker | MessagePort): Channel {
  return { send: (msg) => port.postMessage(msg), onMessage: (fn) => port.on('message', fn) };
}
