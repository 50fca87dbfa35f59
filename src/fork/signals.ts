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

// Which signals snap_attach() and snap_end() found arrived, read right after each call.
const FLAGS = new Int32Array(64);

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
  // The dispositions saved and the handler installed in one call (a snapshot's preparation is on
  // every snapshot's path: six signals one by one from JavaScript cost ~0.1 ms). What arrives is
  // counted in C against the counts at the install: the common case (nothing arrived) writes
  // nothing here, the parent's writes after the fork being copy-on-write page faults.
  const n = numbers.length;
  const sigs = Int32Array.from(numbers);
  const saved = new Uint8Array(SIGACTION_SIZE * n);
  const r = s.snap_install(sigs, n, saved);
  if (r < 0) throw syscallError("sigaction", -r);
  let ended = false;
  return {
    attach(pid) {
      // Signals that arrived before: forwarded to the child now, and (as every signal that
      // arrives) the parent's own at the end (a fast child can be running, and be the reason for
      // a signal, before its parent is back from fork()).
      if (s.snap_attach(pid, sigs, n, FLAGS) > 0) for (let i = 0; i < n; i++) if (FLAGS[i]) kill(pid, sigs[i]!);
    },
    restoreInChild() {
      end(false);
    },
    saved: () => numbers.map((sig, i): [number, Uint8Array] => [sig, saved.subarray(i * SIGACTION_SIZE, (i + 1) * SIGACTION_SIZE)]).reverse(),
    end() {
      end(true);
    },
  };
  // Puts the dispositions back; `act`: then delivers again to this process what arrived, now
  // that its own dispositions are back (SIGINT excepted: it was the child's).
  function end(act: boolean): void {
    if (ended) return;
    ended = true;
    if (s.snap_end(sigs, n, saved, FLAGS) > 0 && act) for (let i = 0; i < n; i++) if (FLAGS[i] && sigs[i] !== SIGINT) kill(getpid(), sigs[i]!);
  }
}
