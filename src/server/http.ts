/**
 * Plain HTTP routes of the App (health, readiness, metrics, static files): each answers GET and HEAD alike, HEAD
 * with the same status and headers (content-length included) and no body, as load balancers and probes expect.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';

/** What a route answers; `head` tells `send` to leave the body out. `req` is valid only until the handler returns. */
export type RouteHandler = (res: HttpResponse, head: boolean, req: HttpRequest) => void;

export function getAndHead(app: TemplatedApp, path: string, handler: RouteHandler): void {
  app.get(path, (res, req) => handler(res, false, req));
  app.head(path, (res, req) => handler(res, true, req));
}

/**
 * Ends a response whose status and headers are written: with `body`, or for HEAD with only its length. The length
 * is written as a header because this uWS build's endWithoutBody(length) throws inside the handler, which aborts
 * the whole process.
 */
export function send(res: HttpResponse, body: string | Buffer, head: boolean): void {
  if (head) res.writeHeader('content-length', String(Buffer.byteLength(body))).endWithoutBody();
  else res.end(body);
}

export function json(res: HttpResponse, status: string, body: unknown, head = false): void {
  send(res.writeStatus(status).writeHeader('content-type', 'application/json'), JSON.stringify(body), head);
}
