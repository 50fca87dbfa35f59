// Who this process is: its depth, the chain of snapshots that led to it, and what it must tell
// its parent. Kept under a Symbol.for key on globalThis so two copies of the package agree.
import { DEFAULT_MAX_BYTES } from "../options.ts";
import type { Outcome } from "./outcome.ts";

/** One level of the chain returned by snapshots(). */
export interface SnapshotInfo {
  /** 0 for the original process, n for the n-th nested snapshot. */
  depth: number;
  /** The pid of the process at this depth. */
  pid: number;
  /** The label given when the snapshot was taken; undefined when none was (and at depth 0). */
  label?: string;
  /** Date.now() when the snapshot was taken; for depth 0, when the process started. */
  takenAt: number;
  /** Where the snapshot was taken (the caller's stack, as Error().stack); "" at depth 0. */
  stack: string;
  /** True for a detached snapshot: its parent did not wait for it. */
  detached?: boolean;
}

/** Process-wide state of bun-snapshot. */
export interface State {
  /** The chain from depth 0 to this process. */
  chain: SnapshotInfo[];
  /** The channel to the parent (a memfd), -1 at depth 0. */
  toParent: number;
  /** In a trial child: the pipe on which it tells its parent that its function went async; else -1. */
  said: number;
  /** Which "exit" listeners run when this snapshot ends. */
  exitHandlers: "new" | "all";
  /** The "exit" listeners this snapshot inherited (the "new" policy skips them). */
  inheritedExit: Set<Function>;
  /** commit() was called in this snapshot. */
  committed: boolean;
  /** The parent's view of its most recent snapshot. */
  lastOutcome?: Outcome | undefined;
  /** Descriptors every later snapshot child keeps as they are (an attach session's connection). */
  keepFds: Set<number>;
  /** The most a trial's value may take, serialized, to send back to this snapshot's parent (option maxBytes). */
  maxBytes: number;
}

const KEY = Symbol.for("bun-snapshot.state.v1");

/** The process-wide state, created on first use. */
export function state(): State {
  const g = globalThis as { [KEY]?: State };
  let s = g[KEY];
  if (!s) {
    s = {
      chain: [{ depth: 0, pid: process.pid, takenAt: Math.round(performance.timeOrigin), stack: "" }],
      toParent: -1,
      said: -1,
      exitHandlers: "new",
      inheritedExit: new Set(),
      committed: false,
      keepFds: new Set(),
      maxBytes: DEFAULT_MAX_BYTES,
      lastOutcome: undefined,
    };
    g[KEY] = s;
  }
  return s;
}

/** What a new child's state differs in (see childState()). */
export interface ChildTerms {
  toParent: number;
  said: number;
  exitHandlers: "new" | "all";
  maxBytes: number;
  /** Descriptors this child and its snapshots keep as they are, besides those kept already. */
  keep: number[];
}

/**
 * In the parent, before the fork: the whole state the child will have, built here so that the
 * child only swaps it in (enterState) instead of building it on copy-on-write pages. The "exit"
 * listeners it inherits are those of this moment (the child's own exit hooks among them, installed
 * by the step before: the same at every depth, so that a child with no listener of its own knows it
 * without copying the list).
 */
export function childState(entry: Omit<SnapshotInfo, "pid">, t: ChildTerms): State {
  // The same properties in the same order as state()'s (lastOutcome too): the code the child
  // runs on its state then finds the shape it was compiled for in the parent.
  const s = state();
  return {
    chain: [...s.chain, Object.assign(entry, { pid: -1 })], // (entry's stack stays lazy: see fork.ts withStack)
    toParent: t.toParent,
    said: t.said,
    exitHandlers: t.exitHandlers,
    inheritedExit: new Set(process.listeners("exit")),
    committed: false,
    keepFds: new Set([...s.keepFds, ...t.keep]),
    maxBytes: t.maxBytes,
    lastOutcome: undefined,
  };
}

/** The writes that make `next` this process's state (enterState's, as data: [target, key, value, ...]; `pid` for the pid). */
export function stateWrites(next: State, pid: unknown): unknown[] {
  return [next.chain[next.chain.length - 1]!, "pid", pid, globalThis, KEY, next];
}

/** In the child, first thing: `next` (from childState()) becomes this process's state, as `pid` (`dry`: a rehearsal, nothing changes). */
export function enterState(next: State, pid: number, dry = false): void {
  if (dry) return;
  next.chain[next.chain.length - 1]!.pid = pid;
  (globalThis as { [KEY]?: State })[KEY] = next;
}

/** 0 in the original process, n inside n nested snapshots. */
export function depth(): number {
  return state().chain.length - 1;
}
