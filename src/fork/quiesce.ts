// Quiescence: a runtime helper thread caught mid-work by fork() may hold a lock that then stays
// held forever in the child (measured: JSC's JSCWarmUp thread running at the fork made 1 child
// in ~30-150 hang in its next collection). Before forking, wait until each is asleep.
import { threads, type ThreadInfo } from "../proc/threads.ts";

// The helper threads of Bun and JSC (names from /proc/self/task/*/comm).
const HELPERS = /^(JSCWarmUp|mi-scavenger|Bun Pool|HTTP Client|HeapHelper|JITWorker|Collector|Heap Helper)/;

/** The helper threads of this process that are running (state R) or in uninterruptible sleep (D). */
export function busyHelpers(): ThreadInfo[] {
  const self = process.pid;
  return threads().filter((t) => t.tid !== self && (t.state === "R" || t.state === "D") && HELPERS.test(t.name));
}

/**
 * Waits, up to `limitMs`, until no helper thread is running. Returns how long it waited and
 * the helpers still busy when the time ran out (the fork then goes ahead).
 */
export function quiesce(limitMs = 50): { waitedMs: number; busy: ThreadInfo[] } {
  const t0 = performance.now();
  let busy = busyHelpers();
  while (busy.length > 0 && performance.now() - t0 < limitMs) {
    Bun.sleepSync(0.1);
    busy = busyHelpers();
  }
  return { waitedMs: performance.now() - t0, busy };
}
