// Bun's work pool in the child. The pool (behind async fs, Bun.file reads, crypto.subtle, dns,
// async zlib, Bun.password, import() of new files) is one static ThreadPool per process (Bun's
// Rust port of kprotty's pool, src/threading/ThreadPool.rs). Its scheduling state is one u32
// `sync`: idle (bits 0-13), spawned (14-27), notified (29), state (30-31). In the child, idle and
// spawned count threads that do not exist, so scheduling wakes ghosts and nothing runs.
//
// The repair gives the child's copy of the pool the state of a pool that never started a thread
// (threads = null, idle_event = EMPTY, sync = 0), so the next schedule spawns fresh workers.
// Nothing here assumes a build: the pool is found in the executable's writable data by its
// fields (stack_size 4 MiB, max_threads, a sync whose spawned count equals the "Bun Pool"
// threads) and proven by its list of registered threads (each on a worker's stack, each pointing
// back to the pool at the same offset, exactly `spawned` of them). The child re-checks all of it
// in its own copy before the three writes.
//
// Races and facts this handles:
// - glibc reuses dead threads' stacks for new threads in the child: the old list must go (null).
// - a worker taking work off the global queue at the fork holds its IS_CONSUMING bit forever:
//   refused (new workers could never take work from that queue).
// - work queued but not started at the fork stays queued and runs on the new workers; work a
//   worker was running at the fork never completes in the child (its thread is gone).
import { mappingOf } from "../proc/maps.ts";
import type { Memory } from "../sys/mem.ts";
import type { ProcessImage } from "./image.ts";

/** Where the pool's fields are, proven in this build (offsets from the pool's address). */
export interface PoolLayout {
  base: number;
  stackSizeOff: number;
  maxThreads: number;
  syncOff: number;
  idleEventOff: number;
  runQueueOff: number;
  threadsOff: number;
  /** Offset, inside each worker's Thread, of its pointer back to the pool. */
  backOff: number;
}

/** The pool's scheduling state as read from `sync`. */
export interface PoolState {
  spawned: number;
  idle: number;
  state: number;
}

const STACK_SIZE = 0x400000; // DEFAULT_THREAD_STACK_SIZE on Linux
const SHUTDOWN = 3;
const IS_CONSUMING = 2; // run queue: a thread is taking work off it
const THREAD_SPAN = 4096; // how far into a worker's Thread the back-pointer may be
const MAX_THREADS = 0x3fff; // spawned is a 14-bit field

/**
 * Why a pool cannot be repaired, by the code the native fork's check returns (src/sys/fork-c.ts
 * check_pool, the same checks as checkPool and walk here, in the same order).
 */
export const POOL_WHY: Record<number, (listed: number, count: number) => string> = {
  1: () => "the pool's memory is not mapped",
  2: () => "the pool's configuration changed",
  3: () => "the pool was shut down",
  4: () => "the pool's state is inconsistent",
  5: () => "the pool's idle event is shut down",
  6: () => "a pool thread was taking work off the queue at the fork",
  7: () => "the pool lists threads but has none",
  8: (listed, count) => `the pool lists ${listed} threads, its state says ${count}`,
  9: () => "a listed pool thread is not in writable memory",
  10: () => "a listed pool thread does not point back to the pool",
  11: (_, count) => `the pool lists more threads than its state says (${count})`,
  12: () => "the child's mappings could not be read",
};
const why = (code: number, listed = 0, count = 0) => POOL_WHY[code]!(listed, count);

/** Decodes the `sync` word. */
export function decodeSync(sync: number): PoolState {
  return { idle: sync & 0x3fff, spawned: (sync >>> 14) & 0x3fff, state: sync >>> 30 };
}

// Follows the registered threads from `head`: exactly `count` of them, each in writable memory
// with a pointer back to `base` at `backOff`, then null. Returns the reason when it does not hold.
function walk(img: ProcessImage, head: number, count: number, base: number, backOff: number): string | undefined {
  let t = head;
  for (let n = 0; n < count; n++) {
    if (t === 0) return why(8, n, count);
    if (t % 8 !== 0 || !mappingOf(img.maps, t, backOff + 8, true)) return why(9);
    if (img.mem.peek64(t + backOff) !== base) return why(10);
    t = img.mem.peek64(t);
  }
  return t === 0 ? undefined : why(11, 0, count);
}

/**
 * Looks for the pool in the executable's writable data, where `spawned` threads named "Bun Pool"
 * run. Returns the layout when exactly one candidate is proven, else the reason.
 */
export function findPool(img: ProcessImage, spawned: number): PoolLayout | string {
  if (spawned < 1 || spawned > MAX_THREADS) return `${spawned} pool threads`;
  const found: PoolLayout[] = [];
  for (const [lo, hi] of img.data) {
    const u32 = new Uint32Array(img.mem.view(lo, hi - lo));
    for (let i = u32.indexOf(STACK_SIZE, 16); i >= 0 && i + 3 < u32.length; i = u32.indexOf(STACK_SIZE, i + 1)) {
      const maxThreads = u32[i + 1]!;
      const s = decodeSync(u32[i + 2]!);
      if (maxThreads < 1 || maxThreads > MAX_THREADS || s.spawned !== spawned || s.idle > s.spawned || s.state === SHUTDOWN) continue;
      if (u32[i + 3]! > 2) continue; // idle_event: EMPTY, WAITING or NOTIFIED
      const at = lo + i * 4;
      // The threads list head: an 8-aligned pointer in the 64 bytes before stack_size.
      for (let k = 8; k <= 64; k += 8) {
        if ((at - k) % 8 !== 0) continue;
        const head = img.mem.peek64(at - k);
        if (head === 0) continue;
        const proven = proveList(img, head, spawned, at);
        if (!proven) continue;
        const [base, backOff] = proven;
        const layout: PoolLayout = {
          base,
          stackSizeOff: at - base,
          maxThreads,
          syncOff: at + 8 - base,
          idleEventOff: at + 12 - base,
          runQueueOff: at - k - 16 - base,
          threadsOff: at - k - base,
          backOff,
        };
        if (layout.runQueueOff >= 0 && typeof checkPool(img, layout) !== "string") found.push(layout);
      }
    }
  }
  if (found.length !== 1) return `${found.length} places in Bun's memory look like its work pool, exactly 1 is needed`;
  return found[0]!;
}

// The first proof: the first thread's back-pointer (the first word in its first 4 KiB that lands
// in the 128 bytes before stack_size) holds for the whole list. Returns [base, backOff].
function proveList(img: ProcessImage, head: number, count: number, stackSizeAt: number): [number, number] | undefined {
  const m = mappingOf(img.maps, head, 8, true);
  if (!m || head % 8 !== 0) return undefined;
  const w = new BigUint64Array(img.mem.view(head, Math.min(THREAD_SPAN, m.hi - head) & ~7));
  for (let j = 1; j < w.length; j++) {
    const v = Number(w[j]!);
    if (v < stackSizeAt - 128 || v >= stackSizeAt || v % 8 !== 0) continue;
    if (walk(img, head, count, v, j * 8) === undefined) return [v, j * 8];
  }
  return undefined;
}

/**
 * Reads the pool at a proven layout and checks that it is still that pool, in a state the
 * repair can take: the state it read, or why not. Reads only.
 */
export function checkPool(img: ProcessImage, p: PoolLayout): PoolState | string {
  if (!mappingOf(img.maps, p.base, p.idleEventOff + 4, true)) return why(1);
  if (img.mem.peek32(p.base + p.stackSizeOff) !== STACK_SIZE || img.mem.peek32(p.base + p.stackSizeOff + 4) !== p.maxThreads) return why(2);
  const s = decodeSync(img.mem.peek32(p.base + p.syncOff));
  if (s.state === SHUTDOWN) return why(3);
  if (s.idle > s.spawned) return why(4);
  if (img.mem.peek32(p.base + p.idleEventOff) > 2) return why(5);
  const queue = img.mem.peek64(p.base + p.runQueueOff);
  if (queue & IS_CONSUMING) return why(6);
  const head = img.mem.peek64(p.base + p.threadsOff);
  if (s.spawned === 0) return head === 0 ? s : why(7);
  return walk(img, head, s.spawned, p.base, p.backOff) ?? s;
}

/**
 * In a child whose pool could not be reset: notices work queued to the pool (which no thread will
 * ever run) and calls `onStuck` once, within about 0.5 s. Only reads; the timer does not keep
 * the child alive.
 */
export function watchPool(mem: Memory, p: PoolLayout, onStuck: () => void): void {
  const at = p.base + p.runQueueOff;
  const before = mem.peek64(at);
  let seen = 0;
  const timer = setInterval(() => {
    const now = mem.peek64(at);
    seen = now !== before && now !== 0 ? seen + 1 : 0;
    if (seen < 2) return;
    clearInterval(timer);
    onStuck();
  }, 250);
  timer.unref();
}

/** The layout's fields in the order the native fork takes them (fork-c.ts P_POOL). */
export function poolFields(p: PoolLayout): number[] {
  return [p.base, p.stackSizeOff, p.maxThreads, p.syncOff, p.idleEventOff, p.runQueueOff, p.threadsOff, p.backOff];
}

/** In the child: the pool forgets its threads, so the next schedule spawns new ones. */
export function resetPool(mem: Memory, p: PoolLayout): void {
  mem.poke64(p.base + p.threadsOff, 0); // the dead workers' Threads (on stacks glibc will reuse)
  mem.poke32(p.base + p.idleEventOff, 0); // EMPTY
  mem.poke32(p.base + p.syncOff, 0); // idle 0, spawned 0, not notified, pending
}
