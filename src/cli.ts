#!/usr/bin/env node
/**
 * `tickgate gateway | producer | demo`: parses config once, runs the command, turns SIGINT/SIGTERM into a graceful
 * stop, and maps failures to clear messages and exit codes (2: bad config, 3: native addon, 1: anything else).
 */
import { Command, COMMANDS, ConfigError, demoConfig, gatewayConfig, helpText, producerConfig } from './config';
import { createLogger } from './log';
import { NativeAddonError } from './server/uws';
import { startGateway } from './gateway';
import { runProducer } from './producer/producer';
import { runDemo } from './demo/demo';

const USAGE = `usage: tickgate <gateway|producer|demo> [options]   (tickgate <command> --help for options)\n`;

/** How long a forced exit waits for the worker threads to let go of their sockets. */
const ABORT_GRACE_MS = 1000;

/**
 * Runs until SIGINT/SIGTERM, then `stop`; a second signal or the deadline forces the exit (status 1), after `abort`
 * has had a moment to close what must be closed before a process may exit.
 */
async function untilSignalled(stop: () => Promise<void>, deadlineMs: number, abort?: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      let forcing = false;
      const force = () => {
        if (forcing) return;
        forcing = true;
        process.stderr.write(`tickgate: ${signal}: shutdown did not finish in ${deadlineMs} ms, exiting\n`);
        const grace = new Promise((r) => setTimeout(r, ABORT_GRACE_MS).unref());
        void Promise.race([abort?.(), grace]).finally(() => process.exit(1));
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      setTimeout(force, deadlineMs).unref();
      stop().then(resolve, (err: Error) => {
        process.stderr.write(`tickgate: shutdown failed: ${err.message}\n`);
        process.exit(1);
      });
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return;
  }
  if (!(command in COMMANDS)) throw new ConfigError(`unknown command "${command}"\n${USAGE}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(helpText(command as Command));
    return;
  }
  switch (command as Command) {
    case 'gateway': {
      const cfg = gatewayConfig(rest);
      const gw = await startGateway(cfg, createLogger(cfg.logLevel, 'tickgate', cfg.logPretty));
      process.on('SIGUSR2', gw.recycleWorkers);
      await untilSignalled(gw.stop, cfg.shutdownTimeoutMs, gw.abort);
      break;
    }
    case 'producer': {
      const cfg = producerConfig(rest);
      const producer = runProducer(cfg, createLogger(cfg.logLevel, 'tickgate-producer', cfg.logPretty));
      await Promise.race([producer.done, untilSignalled(producer.stop, 5000)]);
      await producer.stop();
      break;
    }
    case 'demo': {
      const cfg = demoConfig(rest);
      const demo = await runDemo(cfg, createLogger(cfg.logLevel, 'tickgate-demo', cfg.logPretty));
      await untilSignalled(demo.stop, cfg.shutdownTimeoutMs + 5000, demo.abort);
      process.stdout.write('tickgate demo: stopped cleanly\n');
      break;
    }
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`tickgate: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof NativeAddonError) {
      process.stderr.write(`tickgate: ${err.message}\n`);
      process.exit(3);
    }
    process.stderr.write(`tickgate: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
