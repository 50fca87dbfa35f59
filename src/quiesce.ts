// Quiescence: a runtime helper thread caught mid-work by fork() may hold a lock that then stays
// held forever in the child (measured: JSC's JSCWarmUp thread running at the fork made 1 child
// in ~30-150 hang in its next collection). Before forking, wait until each is asleep.
import { readdirSync, readFileSync } from "node:fs";

// The helper threads of Bun and JSC (names from /proc/self/task/*/comm).
const HELPERS = /^(JSCWarmUp|mi-scavenger|Bun Pool|HTTP Client|HeapHelper|JITWorker|Collector|Heap Helper)/;

/** A helper thread that was not asleep. */
export interface BusyThread {
  tid: number;
  name: string;
  state: string;
}

/** The helper threads of this process that are running (state R) or in uninterruptible sleep (D). */
export function busyHelpers(): BusyThread[] {
  const busy: BusyThread[] = [];
  const self = String(process.pid);
  for (const tid of readdirSync("/proc/self/task")) {
    if (tid === self) continue;
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "latin1");
      const close = stat.lastIndexOf(")");
      const state = stat[close + 2]!;
      if (state !== "R" && state !== "D") continue;
      const name = stat.slice(stat.indexOf("(") + 1, close);
      if (HELPERS.test(name)) busy.push({ tid: Number(tid), name, state });
    } catch {}
  }
  return busy;
}

/**
 * Waits, up to `limitMs`, until no helper thread is running. Returns how long it waited and
 * the helpers still busy when the time ran out (the fork then goes ahead).
 */
export function quiesce(limitMs = 50): { waitedMs: number; busy: BusyThread[] } {
  const t0 = performance.now();
  let busy = busyHelpers();
  while (busy.length > 0 && performance.now() - t0 < limitMs) {
    Bun.sleepSync(0.1);
    busy = busyHelpers();
  }
  return { waitedMs: performance.now() - t0, busy };
}
