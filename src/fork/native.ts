// The native fork: each step writes what the child must do into a plan (its `plan` hook), and
// one C call (src/sys/fork-c.ts) makes every mapping forkable, reads the epoll registrations,
// forks, and in the child does all of it before returning: no JavaScript runs in the child
// between the fork and the steps' small `child` hooks. Where TinyCC is missing (or with
// BUN_SNAPSHOT_NATIVE=0), or the plan is larger than its tables, the steps run their `kernel`
// hooks in JavaScript instead (the same rules; tests run both).
import type { NativeRepair, NativeRepairResult } from "../bun-internals/runtime.ts";
import type { ForkShim } from "../sys/ffi.ts";
import { forkError } from "../sys/process.ts";
import { SIGACTION_SIZE } from "../sys/signal.ts";

/** The plan's flags (fork-c.ts F_*). */
export const F = {
  FORKABLE: 1,
  GROUP: 2,
  TERMINAL: 4,
  ISOLATE: 8,
  FILES_SHARED: 16,
  CONN_SHARED: 32,
  LISTENERS_CLOSED: 64,
  DB_WRITABLE: 128,
  DB_COPY: 256,
  DEAF: 512,
  POOL: 1024,
  HTTP_RUST: 2048,
  HTTP_ZIG: 4096,
  ADVISE_EACH: 8192,
  TEXT_MAPS: 16384,
  TEST_MOVED: 32768,
} as const;

// BUN_SNAPSHOT_TEST_ADVISE_EACH=1: the native fork advises the mappings one at a time after its
// one call per run of them, as when a mapping refuses that call (tests prove the fallback).
const ADVISE_EACH = process.env["BUN_SNAPSHOT_TEST_ADVISE_EACH"] === "1";
// BUN_SNAPSHOT_TEST_TEXT_MAPS=1: the native fork reads the text of /proc/self/maps, as on a kernel
// without PROCMAP_QUERY (before Linux 6.11), instead of asking it mapping by mapping.
const TEXT_MAPS = process.env["BUN_SNAPSHOT_TEST_TEXT_MAPS"] === "1";
// BUN_SNAPSHOT_TEST_SPECIAL_MOVED=1: the native fork acts as if a special mapping ([vvar], [vdso])
// had moved since its last read of the text, which it then reads again.
const SPECIAL_MOVED = process.env["BUN_SNAPSHOT_TEST_SPECIAL_MOVED"] === "1";
// The plan's flags those switches set, the same for every fork.
const TEST_FLAGS = (ADVISE_EACH ? F.ADVISE_EACH : 0) | (TEXT_MAPS ? F.TEXT_MAPS : 0) | (SPECIAL_MOVED ? F.TEST_MOVED : 0);

// A child the parent waits for ends without tearing down its memory on the parent's time
// (src/sys/exit-c.ts); BUN_SNAPSHOT_DEFER_EXIT=0 turns that off. A helper still unreaped after
// REAP_MS stops it for the process (BUN_SNAPSHOT_TEST_REAP_MS: tests shorten the wait).
let deferExit = process.env["BUN_SNAPSHOT_DEFER_EXIT"] !== "0";
const REAP_MS = Number(process.env["BUN_SNAPSHOT_TEST_REAP_MS"] ?? "") || 5000;

/**
 * In the parent, after a native fork: the child's slot for its exit helper (>= 0: its teardown is
 * deferred unless the child then ends plainly), or why not (a negative code of exit-c.ts
 * defer_slot). The bench counts them.
 */
export function lastDeferSlot(): number {
  return last ? last.out[OUT.DEFER]! : -1;
}

/**
 * How the last native fork made the mappings forkable: "text" (/proc/self/maps read and advised),
 * "query" (around the special mappings, PROCMAP_QUERY answering: src/sys/maps-c.ts), or "none".
 */
export function lastMapsWay(): "text" | "query" | "none" {
  const w = last ? last.out[OUT.MAPS_WAY] : 0;
  return w === 1 ? "text" : w === 2 ? "query" : "none";
}

/** Whether, at the last native fork, one of this process's exit helpers had been seen reaped. */
export function deferProven(): boolean {
  return last ? last.out[OUT.DEFER_SEEN] === 1 : false;
}

/** Whether later children defer their teardown (the bench measures both ways in one run). */
export function setDeferExit(on: boolean): void {
  deferExit = on;
}

/** What the child's native part must do, filled in by the steps. */
export interface NativePlan {
  flags: number;
  parentPid: number;
  /** > 0: the child's teardown is deferred; a helper unreaped this long (ms) stops that (exit-c.ts). */
  reapMs: number;
  /** Descriptors isolation leaves as they are (0, 1 and 2 always). */
  keep: number[];
  /** Descriptors the child closes. */
  close: number[];
  /** Dispositions the child gets back (struct sigaction as saved). */
  signals: [number, Uint8Array][];
  /** The work pool's proven layout (workpool.ts PoolLayout, in field order). */
  pool?: number[];
  /** The HTTP thread's proof: [slot, pthread, once] (HTTP_RUST) or [lock] (HTTP_ZIG). */
  http?: number[];
  /** Where the child's native part reports (its counts fresh for each fork, so a child's own later snapshots never overwrite them). */
  result: NativeResult;
  /**
   * All the child's JavaScript when the native part reports a plain child (isolated, no database,
   * nothing failed, helpers repaired or unused): these writes, `target[key] = value` (CHILD_PID:
   * the child's pid). A step that needs more clears `fast`; the steps' child hooks then run.
   */
  writes: unknown[];
  fast: boolean;
}

/** In a plan's writes: the value is the child's pid. */
export const CHILD_PID = Symbol("child pid");

/** Adds `target[key] = value` to the writes of a plain child. */
export function planWrite(p: NativePlan, target: object, key: PropertyKey, value: unknown): void {
  p.writes.push(target, key, value);
}

/**
 * In the child of a native fork: when the native part reports a plain child and every step could
 * say what it needs as writes, makes them (one function, one loop: few copy-on-write pages) and
 * returns true; else false (the steps' child hooks do it). With `dry`, in the parent right before
 * the fork: a rehearsal (compiles it, writes nothing).
 */
export function enterPlainly(p: NativePlan, dry = false): boolean {
  const o = p.result.out;
  // As an int: a number read from a Float64Array is a double inside the engine, and Bun's FFI
  // (1.4.5, measured) passes such a number to an i32 argument wrongly: process.pid must not be one.
  const pid = o[OUT.PID]! | 0;
  const w = p.writes;
  if (!p.fast || (o[OUT.PLAIN] !== 1 && !dry)) return false;
  // The rehearsal stores each target's own value back, through the very store the child runs:
  // a store first run in the child (or on an object it has not seen) rewrites its caches there.
  for (let i = 0; i < w.length; i += 3) {
    const t = w[i] as Record<PropertyKey, unknown>;
    const k = w[i + 1] as PropertyKey;
    t[k] = dry ? t[k] : w[i + 2] === CHILD_PID ? pid : w[i + 2];
  }
  return true;
}

/**
 * What the native part of one fork reported (written in the child). The text (paths of databases
 * and of files that could not be reopened) is shared by every fork of a process: a child that has
 * any reads it before user code runs.
 */
export interface NativeResult {
  out: Float64Array;
  text: Uint8Array;
}
const sharedText = new Uint8Array(16384);

// Slots of the plan and of out: fork-c.ts P_* and O_*.
const P = { PARENT: 1, NKEEP: 2, NCLOSE: 3, NSIG: 4, REAP_MS: 5, POOL: 8, HTTP: 16, CLOSE: 24, SIG: 32, KEEP: 96 };
const CAP = { KEEP: 160, CLOSE: 8, SIG: 64 };
const SACT = SIGACTION_SIZE;
/** Slots of what the native part reports (fork-c.ts O_*). */
export const OUT = {
  PID: 0, STATUS: 4, EPOLLS: 8, REGS: 9, WAKEUPS: 10, FILES: 11, CUT: 12, LCLOSED: 13, NKEPT: 14, NFAILED: 15,
  NDB: 16, NDEAD: 17, CONNS: 18, POOL: 19, HTTP: 20, POOL_N: 21, POOL_SPAWNED: 22, HTTP_V: 23, REPAIR_US: 25, PLAIN: 26, DEFER: 27, DEFER_SEEN: 28, MAPS_WAY: 29,
  KEPT: 64, DEAD: 128, DB: 224, FAIL: 320,
} as const;
/** out[STATUS] in the child when the descriptor table was larger than the native tables (isolate in JS); 0 isolated natively. */
export const OVERFLOW = 1;

const planBuf = new Float64Array(256);
const sigBuf = new Uint8Array(SACT * CAP.SIG);
let last: NativeResult | undefined;


/** A plan with nothing to do yet; `waited`: the parent waits for this child (not a detached one). */
export function emptyPlan(parentPid: number, waited: boolean): NativePlan {
  last = { out: new Float64Array(512), text: sharedText };
  const reapMs = waited && deferExit ? REAP_MS : 0;
  return { flags: F.FORKABLE | TEST_FLAGS, parentPid, reapMs, keep: [], close: [], signals: [], result: last, writes: [], fast: true };
}

/** Whether the plan fits the native tables. */
export function fits(p: NativePlan): boolean {
  return p.keep.length <= CAP.KEEP && p.close.length <= CAP.CLOSE && p.signals.length <= CAP.SIG;
}

/** Forks with `p` done natively in the child: the child's pid in the parent, 0 in the child. */
export function forkWith(s: ForkShim, p: NativePlan): number {
  planBuf.fill(0);
  planBuf[0] = p.flags;
  planBuf[P.PARENT] = p.parentPid;
  planBuf[P.REAP_MS] = p.reapMs;
  // Loops, not closures: a list empty at depth 0 (nothing to close) is not so in a child, which
  // would then compile the closure for its own snapshot.
  planBuf[P.NKEEP] = p.keep.length;
  for (let i = 0; i < p.keep.length; i++) planBuf[P.KEEP + i] = p.keep[i]!;
  planBuf[P.NCLOSE] = p.close.length;
  for (let i = 0; i < p.close.length; i++) planBuf[P.CLOSE + i] = p.close[i]!;
  planBuf[P.NSIG] = p.signals.length;
  for (let i = 0; i < p.signals.length; i++) {
    planBuf[P.SIG + i] = p.signals[i]![0];
    sigBuf.set(p.signals[i]![1].subarray(0, SACT), i * SACT);
  }
  const pool = p.pool ?? [];
  for (let i = 0; i < pool.length; i++) planBuf[P.POOL + i] = pool[i]!;
  const http = p.http ?? [];
  for (let i = 0; i < http.length; i++) planBuf[P.HTTP + i] = http[i]!;
  const pid = s.snap_fork(planBuf, p.result.out, sigBuf, p.result.text);
  if (pid < 0) throw forkError(-pid);
  MADE[0] = pid === 0 ? 1 : MADE[0]!; // one store, run by the parent too
  return pid;
}

// 1 in a process made by the native fork. A typed array, not a variable: the child's first store
// to a variable the parent never changed would invalidate the code that read it as a constant.
const MADE = new Uint8Array(1);

/** Whether this process was made by the native fork (false at depth 0 and after a fork in JavaScript). */
export function madeNatively(): boolean {
  return MADE[0] === 1;
}

/** In a child made without the native fork: says so (madeNatively() is false). */
export function madeInJs(): void {
  MADE[0] = 0;
}

/** In the child, right after forkWith(): what the native part did (in the parent: the plan's result, not yet written). */
export function nativeOut(): Float64Array {
  return last!.out;
}

/** A string the native part wrote at `at` in a result's text ("" when none). */
export function nativeText(r: NativeResult, at: number): string {
  if (at < 0) return "";
  const end = r.text.indexOf(0, at);
  return Buffer.from(r.text.subarray(at, end < 0 ? r.text.length : end)).toString("utf8");
}

/** Adds the helpers' checks and writes (runtime.ts nativeRepair) to the plan. */
export function planRepair(p: NativePlan, r: NativeRepair): void {
  if (r.pool) {
    p.flags |= F.POOL;
    p.pool = r.pool;
  }
  if (r.http) {
    p.flags |= "rust" in r.http ? F.HTTP_RUST : F.HTTP_ZIG;
    p.http = "rust" in r.http ? r.http.rust : r.http.zig;
  }
}

/** What the helpers' checks found (read in the child). */
export function repairResult(r: NativeResult): NativeRepairResult {
  const o = r.out;
  return {
    pool: o[OUT.POOL]!,
    poolListed: o[OUT.POOL_N]!,
    poolSpawned: o[OUT.POOL_SPAWNED]!,
    http: o[OUT.HTTP]!,
    httpValue: o[OUT.HTTP_V]!,
    connections: o[OUT.CONNS]! > 0,
    repairMs: o[OUT.REPAIR_US]! / 1000,
  };
}
