/**
 * Every process a test starts is registered here and killed after each test file's hooks, and on exit as a last
 * resort, so a failing test never leaves a gateway or redis-server behind.
 */
import { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function killAll(): void {
  for (const child of live) {
    // Negative pid: the whole process group, for children started detached (make → npm → node).
    try {
      if (child.pid !== undefined) process.kill(child.spawnargs[0] === 'make' ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // Already gone: the goal (no process left) is met.
    }
  }
  live.clear();
}

process.on('exit', killAll);
