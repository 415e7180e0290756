/**
 * Command line of both peers: `--port 0 --host 127.0.0.1 --redis URL --stream KEY --group NAME --read-count N
 * --read-block-ms N`, with tickgate's defaults for the read, so every system reads the stream the same way.
 */
import { parseArgs } from 'node:util';

export interface PeerOptions {
  port: number;
  host: string;
  redis: string;
  stream: string;
  group: string;
  readCount: number;
  readBlockMs: number;
}

export function peerOptions(argv: string[], defaultGroup: string): PeerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      stream: { type: 'string', default: 'ticks' },
      group: { type: 'string', default: defaultGroup },
      'read-count': { type: 'string', default: '512' },
      'read-block-ms': { type: 'string', default: '1000' },
    },
  });
  return {
    port: Number(values.port), host: values.host!, redis: values.redis!, stream: values.stream!, group: values.group!,
    readCount: Number(values['read-count']), readBlockMs: Number(values['read-block-ms']),
  };
}

/** The same "serving" log line tickgate prints, which the benchmark waits for. */
export function logServing(port: number, what: string): void {
  process.stdout.write(JSON.stringify({ msg: 'serving', port, peer: what }) + '\n');
}
