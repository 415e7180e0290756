/**
 * Messages between the main thread (ingest, the worker pool) and the server worker threads. One place, so each side
 * can be read against the other.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { GatewayConfig } from '../config';
import type { SharedRegistryBuffers } from '../registry/shared-registry';
import type { CatchupAnswer, CatchupRequest } from '../contracts/catchup';

export interface WorkerData {
  workerId: number;
  config: GatewayConfig;
  /** The same fixed port for every worker. */
  port: number;
  registry: SharedRegistryBuffers;
  /** Int32Array [readerReady, workersAlive, workersConfigured, draining], written by the main thread. */
  status: SharedArrayBuffer;
  /** Connections per client IP, one SharedCounterMap written by every worker. */
  ipCounts: SharedArrayBuffer;
}

export const STATUS_READY = 0;
export const STATUS_ALIVE = 1;
export const STATUS_CONFIGURED = 2;
/** 1 from the start of a graceful stop: /readyz answers 503 whatever the reader's state. */
export const STATUS_DRAINING = 3;
export const STATUS_FIELDS = 4;

/**
 * One read's frames for every worker. The bytes of all frames sit back to back in one SharedArrayBuffer that all
 * workers read, so handing a read to N workers copies nothing per worker.
 */
export interface FramesMessage {
  type: 'frames';
  seq: number;
  bytes: SharedArrayBuffer;
  topics: string[];
  /** ends[i] is the end offset of frame i in `bytes`; frame i starts at ends[i - 1] (or 0). */
  ends: number[];
  /** binary[i]: send frame i as a binary WebSocket frame; else as text. */
  binary: boolean[];
}

export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export type MainToWorker =
  | FramesMessage
  | { type: 'collect'; id: number }
  | { type: 'scraped'; id: number; contentType: string; body: string }
  | { type: 'caughtup'; id: number; answer: CatchupAnswer }
  /** A text message for every client of the server (src/protocol/gap.ts): rare, sent socket by socket. */
  | { type: 'broadcast'; text: string }
  /**
   * Graceful drain: close the listen socket, close each client with 4007 once its send buffer is empty (the rest keep
   * their subscriptions meanwhile), and answer `drained` when no client is left. A `close` ends it.
   */
  | { type: 'drain'; id: number }
  /** Close the listen socket and every client (those still there, after a drain) with `code`, then exit. */
  | { type: 'close'; code: number; reason: string };

export type WorkerToMain =
  | { type: 'listening'; port: number }
  | { type: 'published'; seq: number }
  | { type: 'collected'; id: number; metrics: MetricsJson }
  /** Drain `id` is done: the thread holds no client any longer. */
  | { type: 'drained'; id: number }
  /** A worker's /metrics request: the main thread answers with the whole process's metrics. */
  | { type: 'scrape'; id: number }
  /** A snapshot or resume for one subscribe; the answer comes back in order with the frames (see catchup.ts). */
  | { type: 'catchup'; id: number; request: CatchupRequest }
  /** The client of catch-up `id` is gone: its reads stop, and no answer is posted. */
  | { type: 'catchup-cancel'; id: number };
