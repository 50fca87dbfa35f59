// Signals while a parent waits for its snapshot child: the ones in `forward` go to the child
// (a tiny C handler, src/sys/forward-c.ts, does the kill); dispositions change only for the wait
// and are restored after; then the parent acts on what it received as it would have without
// the snapshot (its own handler runs, or the default action happens), except SIGINT, which
// belonged to the child.
import { messages, syscallError } from "../errors.ts";
import { compileForwarder, type ForwarderShim } from "../sys/ffi.ts";
import { getpid, kill } from "../sys/process.ts";
import { SIGACTION_SIZE, SIGINT } from "../sys/signal.ts";

let shim: ForwarderShim | undefined;
let shimError: string | undefined;

// Compiles forward.c once per process (TinyCC, a few ms); children inherit it.
function loadShim(): ForwarderShim {
  shim ??= compileForwarder();
  return shim;
}

/** The forwarding in force around one fork and wait. */
export interface Forwarding {
  /** In the parent after the fork: forwards to `pid` from now on, and what arrived since install. */
  attach(pid: number): void;
  /** In the child: puts back the dispositions the parent had (the child inherits the handler). */
  restoreInChild(): void;
  /** The dispositions restoreInChild() puts back (for the native fork, which does it in C). */
  saved(): [number, Uint8Array][];
  /** In the parent after the wait, or when the snapshot is refused: restores the dispositions and acts on what arrived. */
  end(): void;
}

const NONE: Forwarding = { attach() {}, restoreInChild() {}, saved: () => [], end() {} };

/**
 * Installed before the fork, so that a signal between the fork and the wait (a Ctrl+C) is
 * held, not fatal: until attach() the handler only counts it. Every disposition it changed is
 * back as it was if installing one fails.
 */
export function prepareForwarding(numbers: number[]): Forwarding {
  if (numbers.length === 0) return NONE;
  let s: ForwarderShim;
  try {
    s = loadShim();
  } catch (e) {
    // A Bun without TinyCC: snapshots still work, signals reach the parent as without them;
    // said once, not silently.
    if (shimError === undefined) {
      shimError = e instanceof Error ? e.message : String(e);
      console.error(messages.noForwarding(shimError));
    }
    return NONE;
  }
  s.snap_set_child(0);
  // What each signal's count was before: what arrives is what the count grew by.
  const seen = new Uint32Array(65);
  const now = new Uint32Array(65);
  s.snap_counts(seen);
  // The dispositions saved and the handler installed in one call (a snapshot's preparation is on
  // every snapshot's path: six signals one by one from JavaScript cost ~0.1 ms).
  const sigs = Int32Array.from(numbers);
  const saved = new Uint8Array(SIGACTION_SIZE * numbers.length);
  const r = s.snap_install(sigs, numbers.length, saved);
  if (r < 0) throw syscallError("sigaction", -r);
  let installed = true;
  const restore = () => {
    if (installed) s.snap_uninstall(sigs, numbers.length, saved);
    installed = false;
  };
  // The signals that arrived since the last look (`read`: the counts are in `now` already).
  const arrived = (read = true) => {
    if (read) s.snap_counts(now);
    const got = numbers.filter((n) => now[n] !== seen[n]);
    seen.set(now);
    return got;
  };
  let ended = false;
  // Signals that arrived before attach(): forwarded to the child then, and owed to this process
  // at the end as any other (a fast child can be running, and be the reason for a signal, before
  // its parent is back from fork()).
  const owed = new Set<number>();
  return {
    attach(pid) {
      s.snap_attach(pid, now);
      for (const n of arrived(false)) {
        kill(pid, n);
        owed.add(n);
      }
    },
    restoreInChild() {
      restore();
    },
    saved: () => numbers.map((n, i): [number, Uint8Array] => [n, saved.subarray(i * SIGACTION_SIZE, (i + 1) * SIGACTION_SIZE)]).reverse(),
    end() {
      if (ended) return;
      ended = true;
      restore();
      s.snap_set_child(0);
      // Delivered again to this process now that its own dispositions are back.
      for (const n of new Set([...owed, ...arrived()])) if (n !== SIGINT) kill(getpid(), n);
    },
  };
}
