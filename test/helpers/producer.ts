/** The real producer CLI as a background process, for tests that need a steady high rate. */
import { spawn } from 'node:child_process';
import { CLI } from './gateway';
import { track } from './processes';

export interface ProducerProcess {
  stop(): Promise<void>;
}

export function startProducer(redisUrl: string, flags: string[]): ProducerProcess {
  const child = track(spawn(process.execPath, [CLI, 'producer', '--redis', redisUrl, '--log-level', 'warn', ...flags], { stdio: 'ignore' }));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
