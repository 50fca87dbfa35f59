// The public verbs of the contract (API.md) over the fork protocol and the lineage.
import { writeStdioThrough } from "../bun-internals/stdio-sink.ts";
import { stampWriteStreams } from "../bun-internals/write-streams.ts";
import { trackWorkers } from "../bun-internals/workers.ts";
import { messages, SnapshotError } from "../errors.ts";
import { sendCommit, sendRevertTo } from "../fork/channel.ts";
import type { DetachedChild } from "../fork/detached.ts";
import { endChild, revertChild } from "../fork/exit.ts";
import { forkSnapshot, type Fork } from "../fork/fork.ts";
import { depth as currentDepth, state, type SnapshotInfo } from "../fork/lineage.ts";
import type { Outcome } from "../fork/outcome.ts";
import type { SnapshotOptions } from "../options.ts";
import { assertSupported } from "../sys/ffi.ts";

// What loading the API does, so that a later snapshot finds nothing it would have to refuse:
// terminated Workers are recorded until Bun has joined them (src/bun-internals/workers.ts, it
// wraps Worker.prototype.terminate), and writes to stdout and stderr go straight to their
// descriptors, waiting for a slow reader, instead of into a buffer a fork would print twice
// (src/bun-internals/stdio-sink.ts, it wraps their write()), and chunks queued on node:fs write
// streams carry the pid that wrote them, so a child never writes the parent's queue again
// (src/bun-internals/write-streams.ts).
trackWorkers();
writeStdioThrough();
stampWriteStreams();

/**
 * Takes a snapshot (a fork of this process). Returns true in the child, which continues from
 * here; in the parent returns false once the child has ended (lastOutcome() tells how).
 */
export function snapshot(options?: SnapshotOptions): boolean {
  return fork(options).role === "child";
}

/**
 * Takes a snapshot and says which side this is: `{ role: "child", depth, parentPid }` in the
 * child at once, `{ role: "parent", pid, outcome }` in the parent once the child has ended. With
 * `detached: true` the parent side comes back at once: `{ role: "parent", pid, exited, kill }`.
 */
export function fork(options: SnapshotOptions & { detached: true }): Extract<Fork, { role: "child" }> | DetachedChild;
export function fork(options?: SnapshotOptions): Fork;
export function fork(options?: SnapshotOptions): Fork | DetachedChild {
  const r = forkSnapshot(options);
  if (r.role === "child" || "exited" in r) return r;
  if ("later" in r) throw new Error("unreachable: only a trial goes async");
  return { role: "parent", pid: r.pid, outcome: r.outcome };
}

/** The parent's view of its most recent snapshot; undefined before the first one ended. */
export function lastOutcome(): Outcome | undefined {
  return state().lastOutcome;
}

/** 0 in the original process, n inside n nested snapshots. */
export function depth(): number {
  return currentDepth();
}

/** True inside a snapshot (depth() > 0). */
export function inSnapshot(): boolean {
  return currentDepth() > 0;
}

/** The chain from the original process (depth 0) to this one, a copy. */
export function snapshots(): SnapshotInfo[] {
  return state().chain.map((i) => ({ ...i }));
}

// Throws ENOTSNAPSHOT at depth 0.
function needSnapshot(fn: string): void {
  assertSupported();
  if (currentDepth() === 0) throw new SnapshotError("ENOTSNAPSHOT", messages.notInSnapshot(fn));
}

/**
 * Leaves this snapshot now with exit `code` (default 0): the "exit" listeners the policy
 * allows run, output is flushed, the process ends and its parent resumes. Never returns.
 */
export const revert: (code?: number) => never = revertChild;

/**
 * Unwinds nested snapshots: every snapshot deeper than `target` ends and the process at depth
 * `target` resumes (0 = the original). `target` must be an ancestor: 0 to depth() - 1.
 */
export function revertTo(target: number): never {
  needSnapshot("revertTo");
  const d = currentDepth();
  if (state().chain[d]!.detached && target !== d - 1) throw new SnapshotError("EINVAL", messages.detachedUnwind("revertTo"));
  if (state().chain[d]!.detached) return endChild(0);
  if (!Number.isInteger(target) || target < 0 || target >= d) throw new SnapshotError("EINVAL", messages.notAncestor(target, d));
  sendRevertTo(state().toParent, target);
  return endChild(0);
}

/**
 * Keeps this line: when this snapshot ends, its ancestors do not resume; each exits with the
 * same status instead. Every "exit" listener then runs when it ends, inherited ones too.
 */
export function commit(): void {
  needSnapshot("commit");
  const s = state();
  if (s.chain.at(-1)!.detached) throw new SnapshotError("EINVAL", messages.detachedUnwind("commit"));
  if (s.committed) return;
  sendCommit(s.toParent);
  s.committed = true;
}

/**
 * Wraps `fn` so that it runs only in the original process; inside a snapshot the wrapper does
 * nothing and returns undefined (for effects that must never happen twice).
 */
export function rootOnly<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R | undefined {
  return function (this: unknown, ...args: A) {
    return currentDepth() === 0 ? fn.apply(this, args) : undefined;
  };
}
