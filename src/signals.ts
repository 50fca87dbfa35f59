// Signals while a parent waits for its snapshot child: the ones in `forward` go to the child
// (a tiny C handler, src/forward.c, does the kill); dispositions change only for the wait and
// are restored after; then the parent acts on what it received as it would have without the
// snapshot (its own handler runs, or the default action happens), except SIGINT, which
// belonged to the child.
import { join } from "node:path";
import { compileForwarder, getpid, installHandler, kill, restoreAction, saveAction, SIGINT, type ForwarderShim } from "./libc.ts";
import { signalNumber } from "./status.ts";

/** The signals a waiting parent passes to its child unless told otherwise. */
export const DEFAULT_FORWARD: NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

type Shim = ForwarderShim;
let shim: Shim | undefined;
let shimError: string | undefined;

// Compiles src/forward.c once per process (TinyCC, a few ms); children inherit it.
function loadShim(): Shim {
  shim ??= compileForwarder(join(import.meta.dir, "forward.c"));
  return shim;
}

/** The forwarding in force around one fork and wait. */
export interface Forwarding {
  /** In the parent after the fork: forwards to `pid` from now on, and what arrived since install. */
  attach(pid: number): void;
  /** In the child: puts back the dispositions the parent had (the child inherits the handler). */
  restoreInChild(): void;
  /** In the parent after the wait: restores the dispositions and acts on what arrived. */
  end(): void;
}

const NONE: Forwarding = { attach() {}, restoreInChild() {}, end() {} };

/**
 * Installed before the fork, so that a signal between the fork and the wait (a Ctrl+C) is
 * held, not fatal: until attach() the handler only records it.
 */
export function prepareForwarding(signals: readonly string[] = DEFAULT_FORWARD): Forwarding {
  const numbers = [...new Set(signals.map((s) => signalNumber(s)!))];
  if (numbers.length === 0) return NONE;
  let s: Shim;
  try {
    s = loadShim();
  } catch (e) {
    // A Bun without TinyCC: snapshots still work, signals reach the parent as without them;
    // said once, not silently.
    if (shimError === undefined) {
      shimError = e instanceof Error ? e.message : String(e);
      console.error(`bun-snapshot: signals will not be forwarded to snapshot children: the C signal handler did not compile (${shimError})`);
    }
    return NONE;
  }
  const handler = s.snap_forward_ptr()!;
  const saved = numbers.map((n) => [n, saveAction(n)] as const);
  s.snap_set_child(0);
  s.snap_take_pending();
  for (const n of numbers) installHandler(n, handler);
  let got = 0n;
  const arrived = () => numbers.filter((n) => ((got |= s.snap_take_pending()) >> BigInt(n)) & 1n);
  const restore = () => {
    for (const [n, old] of saved) restoreAction(n, old);
  };
  return {
    attach(pid) {
      s.snap_set_child(pid);
      for (const n of arrived()) kill(pid, n);
    },
    restoreInChild() {
      restore();
      s.snap_take_pending();
    },
    end() {
      restore();
      s.snap_set_child(0);
      // Delivered again to this process now that its own dispositions are back.
      for (const n of arrived()) if (n !== SIGINT) kill(getpid(), n);
    },
  };
}
