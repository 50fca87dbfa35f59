// The fork as an ordered list of steps. Each step says what it does before the fork (prepare),
// how that is taken back if the snapshot is refused (undo), what the child's kernel work is
// (plan, done natively by the fork itself; or kernel, the same in JavaScript where it cannot be),
// what it does in the child before user code (child), in the parent right after the fork
// (parent), and in the parent once a waited-for child has been reaped (finish). fork.ts runs
// them: prepare, plan, kernel and child in list order, undo and finish in reverse.
import { messages, SnapshotError } from "../errors.ts";
import type { NativePlan } from "./native.ts";

/**
 * One step of the fork. Every hook is optional and gets the snapshot's context `c` (what the
 * steps of one snapshot share, and each step's own state for it): a step is a constant, made once
 * per process, not a set of closures made for every snapshot (measured: making them wrote ~40
 * pages after each fork, each a page fault).
 */
export interface Step<C> {
  /** A short name, for errors and for failure injection in tests. */
  readonly name: string;
  /** In the parent, before the fork. Throws to refuse; what it made, `undo` takes back. */
  prepare?(c: C): void;
  /** In the parent, when a later step or the fork failed: takes back what `prepare` made. */
  undo?(c: C): void;
  /** In the parent, right before a native fork: what the child's native part must do (see native.ts). */
  plan?(c: C, p: NativePlan): void;
  /** In the child after a fork without the native part: the same work as `plan` asked for, in JavaScript. */
  kernel?(c: C): void;
  /**
   * In the child, after the kernel work (native or not), before any user code; `native` says
   * which. With `dry`, in the parent right before a native fork: a rehearsal that reads what the
   * child will read and writes nothing, so that the child runs code already compiled (compiling a
   * function in the child would write to dozens of copy-on-write pages).
   */
  child?(c: C, native: boolean, dry?: boolean): void;
  /** In the parent, right after the fork. */
  parent?(c: C): void;
  /** In a trial's parent once the child said its function went async: the wait is over, the child runs on. */
  release?(c: C): void;
  /** In the parent, once a waited-for child has been reaped. */
  finish?(c: C): void;
}

// BUN_SNAPSHOT_FAIL_STEP=<name> makes that step fail right after its prepare (tests prove the
// undo with it); read once.
const FAIL_STEP = process.env["BUN_SNAPSHOT_FAIL_STEP"];

/**
 * Runs every step's prepare in order. When one throws, the steps prepared before it (and it,
 * when the failure was injected after its prepare) are undone in reverse order, then the error
 * is thrown on.
 */
export function prepareAll<C>(steps: readonly Step<C>[], c: C): void {
  let done = 0;
  try {
    for (; done < steps.length; done++) {
      const s = steps[done]!;
      s.prepare?.(c);
      if (FAIL_STEP === s.name) {
        done++;
        throw new SnapshotError("EIO", messages.injected(s.name));
      }
    }
  } catch (e) {
    undoAll(steps, c, done);
    throw e;
  }
}

/** Undoes the first `count` steps (all by default) in reverse order; an undo that throws does not stop the others. */
export function undoAll<C>(steps: readonly Step<C>[], c: C, count = steps.length): void {
  for (let i = count - 1; i >= 0; i--) {
    try {
      steps[i]!.undo?.(c);
    } catch {}
  }
}
