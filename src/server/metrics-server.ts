/**
 * `/metrics` on a separate port (`--metrics-port`), for deployments that keep the scrape endpoint off the public
 * listener. Served by the main thread with node:http: a scrape every few seconds does not need uWS.
 */
import { createServer } from 'node:http';
import { REFUSALS } from '../protocol/codes';
import { encodeRefusal } from '../protocol/messages';

export async function startMetricsServer(host: string, port: number,
  scrape: () => Promise<{ contentType: string; body: string }>): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(encodeRefusal({ error: REFUSALS.NOT_FOUND.error }));
      return;
    }
    scrape().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
