/**
 * Write-family syscalls of a process (all its threads) over a few seconds. perf's syscall tracepoints count in
 * the kernel with next to no overhead, so they are preferred; strace -c -f is the fallback and, being ptrace,
 * slows every syscall of the traced process, which the result says.
 */
import { spawn } from 'node:child_process';

const WRITE_FAMILY = ['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg', 'pwrite64'];

export interface SyscallCount {
  tool: 'perf' | 'strace';
  seconds: number;
  byCall: Record<string, number>;
  total: number;
  note?: string;
}

export class SyscallCountError extends Error {
  readonly code = 'BENCH_SYSCALLS_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'SyscallCountError';
  }
}

function run(cmd: string, args: string[], stopAfterMs?: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', reject);
    const timer = stopAfterMs === undefined ? undefined : setTimeout(() => p.kill('SIGINT'), stopAfterMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

async function withPerf(pid: number, seconds: number): Promise<SyscallCount> {
  const events = WRITE_FAMILY.map((c) => `syscalls:sys_enter_${c}`).join(',');
  const { code, stderr } = await run('perf', ['stat', '-x', ',', '-e', events, '-p', String(pid), '--', 'sleep', String(seconds)]);
  const byCall: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    const [value, , event] = line.split(',');
    const m = /sys_enter_(\w+)/.exec(event ?? '');
    if (m && /^\d+$/.test(value)) byCall[m[1]] = Number(value);
  }
  if (code !== 0 || Object.keys(byCall).length === 0) throw new SyscallCountError(`perf stat failed: ${stderr.trim().slice(0, 300)}`);
  return { tool: 'perf', seconds, byCall, total: Object.values(byCall).reduce((a, b) => a + b, 0) };
}

async function withStrace(pid: number, seconds: number): Promise<SyscallCount> {
  const { stderr } = await run('strace', ['-c', '-f', '-p', String(pid), '-e', `trace=${WRITE_FAMILY.join(',')}`], seconds * 1000);
  const byCall: Record<string, number> = {};
  // Summary rows: "% time  seconds  usecs/call  calls  [errors]  syscall".
  for (const line of stderr.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const name = cols[cols.length - 1];
    if (WRITE_FAMILY.includes(name) && cols.length >= 5) byCall[name] = Number(cols[3]);
  }
  if (Object.keys(byCall).length === 0) throw new SyscallCountError(`strace found no write-family calls: ${stderr.trim().slice(0, 300)}`);
  return {
    tool: 'strace', seconds, byCall, total: Object.values(byCall).reduce((a, b) => a + b, 0),
    note: 'strace (ptrace) slows every syscall of the gateway while it runs; throughput in this window is understated',
  };
}

export async function countWriteSyscalls(pid: number, seconds: number): Promise<SyscallCount> {
  try {
    return await withPerf(pid, seconds);
  } catch (perfErr) {
    try {
      return await withStrace(pid, seconds);
    } catch (straceErr) {
      throw new SyscallCountError(`${(perfErr as Error).message}; ${(straceErr as Error).message}`);
    }
  }
}
