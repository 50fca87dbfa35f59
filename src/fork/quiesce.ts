// Quiescence: a runtime helper thread caught mid-work by fork() may hold a lock that then stays
// held forever in the child (measured: JSC's JSCWarmUp thread running at the fork made 1 child
// in ~30-150 hang in its next collection). Before forking, wait until each is asleep, and not
// about to wake: a helper asleep until a deadline (a futex wait with an absolute timeout, read
// from /proc/self/task/<tid>/syscall) must have at least WAKE_MARGIN_MS left.
//
// Bun 1.2/1.3 (libpas): the allocator's scavenger thread never names itself (it has the main
// thread's name), wakes every 100 ms while memory is to be returned and takes libpas's locks
// (futex words: pas_lock). A margin cannot hold it: the main thread may be preempted between the
// check and the fork, and the fork itself takes milliseconds, while the scavenger may wake.
// Measured on 1.3.14 with the fork started at the scavenger's deadline: a child hung in
// pas_lock_lock_slow within 7-34 snapshots. So on x86_64 that thread is parked instead: a signal
// puts it in a handler that sleeps until the parent lets it go right after fork()
// (src/sys/park.ts), and only if the signal caught it in the very wait /proc showed, holding
// nothing. Bun 1.4 has no such thread (mimalloc's is "mi-scavenger", which blocks signals), so
// there this costs nothing and the margin rule stands.
import { threads, threadSyscall, type ThreadInfo } from "../proc/threads.ts";
import { liveMemory } from "../sys/mem.ts";
import { parkThread, releaseParked } from "../sys/park.ts";

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
// A timed futex wait interrupted by a stop and continue (job control, a debugger) goes on as
// restart_syscall, its registers (the futex's arguments) untouched: seen once in a full-suite
// run on 1.3.14, the scavenger in it, then neither parked nor checked.
const SYS_RESTART = process.arch === "arm64" ? 128 : 219;
const FUTEX_WAIT_BITSET = 9;
const FUTEX_PRIVATE_FLAG = 128;
const FUTEX_CLOCK_REALTIME = 256;

/**
 * A helper thread that is busy: running (R), in uninterruptible sleep (D), about to wake (W), or
 * (Bun 1.2/1.3's scavenger) asleep outside its timed wait (L).
 */
export type BusyThread = ThreadInfo;

// A thread blocked in futex(FUTEX_WAIT_BITSET, ..., abstime), or in its restart after a signal:
// milliseconds until it wakes by itself, and where its system call returns to; undefined when
// not in such a wait.
function timedWait(tid: number): { msLeft: number; pc: number } | undefined {
  const s = threadSyscall(tid);
  if (!s || (s.nr !== SYS_FUTEX && s.nr !== SYS_RESTART)) return undefined;
  const op = s.args[1]!;
  const timeout = s.args[3]!;
  if ((op & 0x7f) !== FUTEX_WAIT_BITSET || !timeout || timeout % 8 !== 0) return undefined;
  // restart_syscall's registers could be any call's: only the exact operation of a futex wait.
  if (s.nr === SYS_RESTART && (op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)) !== FUTEX_WAIT_BITSET) return undefined;
  // A timespec on the waiting thread's stack (mapped while the thread lives).
  const deadline = liveMemory.peek64(timeout) * 1000 + liveMemory.peek64(timeout + 8) / 1e6;
  const now = op & FUTEX_CLOCK_REALTIME ? Date.now() : Number(process.hrtime.bigint()) / 1e6; // else CLOCK_MONOTONIC
  return { msLeft: deadline - now, pc: s.pc };
}

// Parking the main-named helper stays on until it proves unavailable here (BUN_SNAPSHOT_PARK=0
// turns it off, for measuring).
let parking = process.env["BUN_SNAPSHOT_PARK"] !== "0";

// BUN_SNAPSHOT_TEST_FORK_AT_WAKE=1 (tests only): once quiet, sleep until the main-named helper's
// deadline, so that the fork starts as it wakes (the race parking closes; test/fixtures/at-wake.ts).
const AT_WAKE = process.env["BUN_SNAPSHOT_TEST_FORK_AT_WAKE"] === "1";
// The main thread's name at the last look (a helper of that name is Bun 1.2/1.3's scavenger).
let lastMainName: string | undefined;
// The thread seen asleep in the scavenger's timed wait: asleep anywhere else (on a lock, maybe
// holding another) it counts as busy, reported with state "L".
let scavengerTid = 0;
// How long quiescence waits for that scavenger while it runs (or slipped a parking): forking then
// is the known hang, so it is never given up on at the general limit; only a thread that never
// sleeps (not Bun's) would make a fork wait this long.
const SCAVENGER_LIMIT_MS = 500;
// When the main-named helper last seen asleep wakes, on performance.now()'s clock.
let mainHelperWake: number | undefined;

/**
 * The helper threads of this process that are running (state R), in uninterruptible sleep (D),
 * or asleep until a deadline less than the margin away (reported with state W). A helper is a
 * thread of a known name, or one named like the main thread (it never named itself). With
 * `park`, a helper named like the main thread asleep until a deadline is not busy whatever the
 * deadline: it is listed in `park` (with where its wait returns to) for the caller to park.
 */
export function busyHelpers(park?: { tid: number; pc: number }[], all: ThreadInfo[] = threads()): BusyThread[] {
  const self = process.pid;
  const mainName = all.find((t) => t.tid === self)?.name;
  lastMainName = mainName;
  const busy: BusyThread[] = [];
  for (const t of all) {
    if (t.tid === self || !(HELPERS.test(t.name) || t.name === mainName)) continue;
    if (t.state === "R" || t.state === "D") busy.push(t);
    else if (t.state === "S" && (TIMED.test(t.name) || t.name === mainName)) {
      const w = timedWait(t.tid);
      if (!w) {
        if (t.tid === scavengerTid) busy.push({ ...t, state: "L" });
        continue;
      }
      if (t.name === mainName) scavengerTid = t.tid;
      if (t.name === mainName) mainHelperWake = performance.now() + w.msLeft;
      if (park && t.name === mainName && park.length === 0) park.push({ tid: t.tid, pc: w.pc });
      else if (w.msLeft < WAKE_MARGIN_MS) busy.push({ ...t, state: "W" });
    }
  }
  return busy;
}

/**
 * Waits, up to `limitMs` (up to SCAVENGER_LIMIT_MS while Bun 1.2/1.3's scavenger is the busy
 * one), until no helper thread is busy, and parks that scavenger (see the top of this file) if
 * there is one. Returns how long it waited, whether it had to, the helpers still busy when the
 * time ran out (the fork then goes ahead), and whether a thread is parked: then unparkHelpers()
 * must follow, right after the fork or on failure.
 */
export function quiesce(limitMs = 50, first?: ThreadInfo[]): { waitedMs: number; waited: boolean; busy: BusyThread[]; parked: boolean } {
  const q = quiet(limitMs, first);
  if (!q.parked) releaseParked(); // a try that did not park: its signal's disposition back
  if (AT_WAKE && mainHelperWake !== undefined) {
    const ms = mainHelperWake - performance.now();
    if (ms > 0 && ms < 200) Bun.sleepSync(ms);
  }
  return q;
}

// `first`: the threads as read a moment ago (by the runtime step), for the first look.
function quiet(limitMs: number, first?: ThreadInfo[]): { waitedMs: number; waited: boolean; busy: BusyThread[]; parked: boolean } {
  mainHelperWake = undefined;
  const t0 = performance.now();
  let waited = false;
  for (;;) {
    const park: { tid: number; pc: number }[] = [];
    const busy = busyHelpers(parking ? park : undefined, first ?? threads());
    first = undefined;
    if (busy.length === 0) {
      const p = park[0];
      if (!p) return { waitedMs: performance.now() - t0, waited, busy, parked: false };
      const r = parkThread(p.tid, p.pc);
      if (r === "parked") return { waitedMs: performance.now() - t0, waited, busy, parked: true };
      if (r === "unavailable") {
        parking = false; // the margin rule from now on
        continue;
      }
      // "moved", "late" (it woke: busy now), "gone" (it ended): look again.
    }
    waited = true;
    const scavenging = park.length > 0 || busy.some((b) => b.name === lastMainName);
    const limit = scavenging ? Math.max(limitMs, SCAVENGER_LIMIT_MS) : limitMs;
    if (performance.now() - t0 >= limit) return { waitedMs: performance.now() - t0, waited, busy, parked: false };
    Bun.sleepSync(0.1);
  }
}

/** Lets a helper parked by quiesce() go: in the parent right after the fork, in the child to forget it. */
export function unparkHelpers(): void {
  releaseParked();
}
