// Quiescence: a runtime helper thread caught mid-work by fork() may hold a lock that then stays
// held forever in the child (measured: JSC's JSCWarmUp thread running at the fork made 1 child
// in ~30-150 hang in its next collection). Before forking, wait until each is asleep, and not
// about to wake: a helper asleep until a deadline (a futex wait with an absolute timeout, read
// from /proc/self/task/<tid>/syscall) must have at least WAKE_MARGIN_MS left.
//
// Bun 1.2/1.3 (libpas): the allocator's scavenger thread never names itself (it has the main
// thread's name), wakes every 100 ms while memory is to be returned and takes the heap locks;
// measured on 1.3.14: a child forked while it held one waited forever in its first allocation.
// Bun 1.4 has no such thread (mimalloc's is "mi-scavenger"), so the check by name costs nothing.
import { threads, threadSyscall, type ThreadInfo } from "../proc/threads.ts";
import { liveMemory } from "../sys/mem.ts";

// The helper threads of Bun and JSC (names from /proc/self/task/*/comm).
const HELPERS = /^(JSCWarmUp|mi-scavenger|Bun Pool|HTTP Client|HeapHelper|JITWorker|Collector|Heap Helper)/;
// The helpers that sleep until a deadline and then take heap locks: the allocators' scavengers
// (and JSC's warm-up thread, off in snapshot-safe mode). Only their deadlines are read, not every
// idle pool thread's (busyHelpers() 0.078 ms instead of 0.117 ms with the pool and HTTP warm).
const TIMED = /^(mi-scavenger|JSCWarmUp)/;
// Time a sleeping helper must have left before it wakes: covers what runs between the check and
// the fork (a few ms on a large heap).
const WAKE_MARGIN_MS = 10;
const SYS_FUTEX = process.arch === "arm64" ? 98 : 202;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_CLOCK_REALTIME = 256;

/** A helper thread that is busy: running (R), in uninterruptible sleep (D), or about to wake (W). */
export type BusyThread = ThreadInfo;

// Milliseconds until a thread blocked in futex(FUTEX_WAIT_BITSET, ..., abstime) wakes by itself,
// or undefined (not in such a wait, or no deadline).
function msToDeadline(tid: number): number | undefined {
  const s = threadSyscall(tid);
  if (!s || s.nr !== SYS_FUTEX) return undefined;
  const op = s.args[1]!;
  const timeout = s.args[3]!;
  if ((op & 0x7f) !== FUTEX_WAIT_BITSET || !timeout || timeout % 8 !== 0) return undefined;
  // A timespec on the waiting thread's stack (mapped while the thread lives).
  const deadline = liveMemory.peek64(timeout) * 1000 + liveMemory.peek64(timeout + 8) / 1e6;
  const now = op & FUTEX_CLOCK_REALTIME ? Date.now() : Number(process.hrtime.bigint()) / 1e6; // else CLOCK_MONOTONIC
  return deadline - now;
}

/**
 * The helper threads of this process that are running (state R), in uninterruptible sleep (D),
 * or asleep until a deadline less than the margin away (reported with state W). A helper is a
 * thread of a known name, or one named like the main thread (it never named itself).
 */
export function busyHelpers(all: ThreadInfo[] = threads()): BusyThread[] {
  const self = process.pid;
  const mainName = all.find((t) => t.tid === self)?.name;
  const busy: BusyThread[] = [];
  for (const t of all) {
    if (t.tid === self || !(HELPERS.test(t.name) || t.name === mainName)) continue;
    if (t.state === "R" || t.state === "D") busy.push(t);
    else if (t.state === "S" && (TIMED.test(t.name) || t.name === mainName) && (msToDeadline(t.tid) ?? Infinity) < WAKE_MARGIN_MS) busy.push({ ...t, state: "W" });
  }
  return busy;
}

/**
 * Waits, up to `limitMs`, until no helper thread is busy (`first`: the threads as read a moment
 * ago, to check first instead of reading them again). Returns how long it waited, whether it
 * had to, and the helpers still busy when the time ran out (the fork then goes ahead).
 */
export function quiesce(limitMs = 50, first?: ThreadInfo[]): { waitedMs: number; waited: boolean; busy: BusyThread[] } {
  const t0 = performance.now();
  let busy = busyHelpers(first);
  const waited = busy.length > 0;
  while (busy.length > 0 && performance.now() - t0 < limitMs) {
    Bun.sleepSync(0.1);
    busy = busyHelpers();
  }
  return { waitedMs: performance.now() - t0, waited, busy };
}
