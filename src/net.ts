import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on `host`. Needed where port 0 cannot be used directly: uSockets sets
 * SO_REUSEPORT only for a fixed port, so worker threads cannot join a port the kernel picked for the first one.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether `port` on `host` can be listened on right now (for a port chosen in advance, not by the kernel). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
