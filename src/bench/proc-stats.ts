/**
 * Per-process resource readings from /proc, for a process and all its threads: CPU seconds, resident memory, and
 * the open-files limit.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds of every live thread, summed from schedstat's nanosecond run times: utime + stime resolve only 10 ms,
 * which is most of what a gateway spends in a few seconds without subscribers. A thread that exits between two
 * readings takes its time with it; the processes measured here keep their threads for their lifetime. Where the
 * kernel has no schedstat, utime + stime of the thread group. NaN once the process is gone.
 */
export function cpuSeconds(pid: number): number {
  if (Number.isNaN(threadCpuMs(pid))) return statCpuSeconds(pid);
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  // NaN of a thread that exited after readdir counts as nothing, like a thread that exited before it.
  return tids.reduce((ms, tid) => ms + (threadCpuMs(pid, Number(tid)) || 0), 0) / 1000;
}

/** utime + stime of the whole thread group, as /proc/PID/stat reports them. */
function statCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: count fields from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

export function rssBytes(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

function statusKb(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU time of one thread in milliseconds (the main thread when `tid` is the process id), from schedstat's
 * nanosecond run time; NaN where the kernel does not provide it. Unlike utime/stime it resolves a single scrape.
 */
export function threadCpuMs(pid: number, tid = pid): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

export function openFilesLimit(pid: number): number {
  const m = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** CPU seconds of several processes, read together at one instant. */
export type CpuReading = { at: number; seconds: Record<string, number> };

export function readCpu(pids: Record<string, number>): CpuReading {
  const seconds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) seconds[name] = cpuSeconds(pid);
  return { at: performance.now(), seconds };
}

/** CPU use between two readings in percent of one core, per process. */
export function cpuPercent(from: CpuReading, to: CpuReading): Record<string, number> {
  const wall = (to.at - from.at) / 1000;
  const out: Record<string, number> = {};
  for (const name of Object.keys(to.seconds)) out[name] = (100 * (to.seconds[name] - from.seconds[name])) / wall;
  return out;
}
