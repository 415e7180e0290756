/** A real WebSocket client (`ws`) that records everything the gateway sends it. */
import WebSocket from 'ws';

export interface Reply {
  type: string;
  id?: unknown;
  code?: string;
  message?: string;
  [k: string]: unknown;
}

export interface JsonTick {
  id: string;
  ts: number;
  px: string;
  sz: string;
}

export interface FrameRecord {
  sym: string;
  kind: string;
  prev: string | undefined;
  ids: string[];
  /** The frame's `sent` (the gateway's clock when it encoded it). */
  sent: number;
  /** This process's clock when the frame arrived. */
  at: number;
}

export class TestClient {
  readonly ticks = new Map<string, JsonTick[]>();
  /** Every data frame, in arrival order. */
  readonly frames: FrameRecord[] = [];
  /** Every message in arrival order, data frames as `ticks:<sym>`, others by type. */
  readonly order: string[] = [];

  readonly replies: Reply[] = [];
  /** replyAt[i]: this process's clock when replies[i] arrived. */
  readonly replyAt: number[] = [];
  /** Binary frames on a JSON connection: a test asserts this stays empty. */
  readonly unexpected: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.unexpected.push(data);
        return;
      }
      const m = JSON.parse(data.toString()) as Reply;
      if (m.type === 'ticks') {
        const list = this.ticks.get(m.sym as string) ?? [];
        list.push(...(m.ticks as JsonTick[]));
        this.ticks.set(m.sym as string, list);
        this.frames.push({ sym: m.sym as string, kind: (m.kind as string) ?? 'live', prev: m.prev as string | undefined,
          ids: (m.ticks as JsonTick[]).map((t) => t.id), sent: m.sent as number, at: Date.now() });
        this.order.push(`ticks:${m.sym as string}`);
      } else {
        this.order.push(m.type);
        this.replies.push(m);
        this.replyAt.push(Date.now());
      }
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('error', reject);
    });
  }

  send(data: string | Buffer | object): void {
    this.ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data));
  }

  /**
   * Sends a request with a fresh id and resolves with its final reply: the ack, or the error that refused it.
   * (A snapshot and RESUME_UNAVAILABLE carry the id too, but come before the ack.)
   */
  async request(body: object, timeoutMs = 5000): Promise<Reply> {
    const id = this.nextId++;
    this.send({ ...body, id });
    return this.reply((r) => r.id === id && (r.type === 'ack' || (r.type === 'error' && r.code !== 'RESUME_UNAVAILABLE')), timeoutMs);
  }

  async reply(match: (r: Reply) => boolean, timeoutMs = 5000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.replies.find(match);
      if (r) return r;
      if (Date.now() > deadline) throw new Error(`no matching reply within ${timeoutMs} ms; got ${JSON.stringify(this.replies.slice(-3))}`);
      await new Promise((res) => setTimeout(res, 5));
    }
  }

  idsOf(sym: string): string[] {
    return (this.ticks.get(sym) ?? []).map((t) => t.id);
  }

  tickCount(): number {
    let n = 0;
    for (const list of this.ticks.values()) n += list.length;
    return n;
  }

  close(): void {
    this.ws.close();
  }
}
