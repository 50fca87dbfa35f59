// Parking one thread of this process for the length of a fork: the thread runs a C signal
// handler (park-c.ts) that sleeps until the parent lets it go, so it can take no lock while the
// fork copies the memory. x86_64 only; elsewhere, or when the compiler or a free real-time
// signal is missing, every call says "unavailable" and the caller keeps its older rule.
//
// The handler is installed only while a thread is being parked, on the highest real-time signal
// whose disposition is the default, and the disposition is put back when the thread is let go:
// first SIG_IGN, which discards a signal still pending (one that reached its thread too late),
// then the saved default. A refused snapshot leaves every disposition as it was.
import { compileParker, type ParkerShim } from "./ffi.ts";
import { handlerOf, ignoreAction, installInfoHandler, restoreAction, saveAction, sigrtmin } from "./signal.ts";

const SIGRTMAX = 64;
// How long the parent waits for the thread to arrive in the handler.
const ARRIVE_MS = 20;

let shim: ParkerShim | null | undefined;
let handler = 0n;
// The signal the handler is installed on now, and the disposition it replaced.
let installed: { sig: number; saved: Uint8Array } | null = null;

// The shim, compiled once (TinyCC, ~35 ms); null where it cannot be.
function parker(): ParkerShim | null {
  if (shim === undefined) {
    shim = null;
    if (process.arch !== "x64" || process.platform !== "linux") return null;
    try {
      const s = compileParker();
      handler = BigInt(s.snap_park_ptr() ?? 0);
      if (handler !== 0n) shim = s;
    } catch {
      shim = null;
    }
  }
  return shim;
}

// Installs the handler on the highest real-time signal nobody handles or ignores; false if none.
function install(): boolean {
  if (installed) return true;
  for (let sig = SIGRTMAX; sig > sigrtmin() + 2; sig--) {
    const saved = saveAction(sig);
    if (handlerOf(saved) !== 0n) continue;
    installInfoHandler(sig, handler);
    installed = { sig, saved };
    return true;
  }
  return false;
}

/**
 * What parkThread() did: "parked" (the thread sleeps in the handler, interrupted in the wait the
 * caller saw), "moved" (it ran elsewhere when the signal came: let go again), "late" (it did not
 * arrive in time), "gone" (no such thread), "unavailable" (parking does not work here).
 */
export type ParkResult = "parked" | "moved" | "late" | "gone" | "unavailable";

/**
 * Parks thread `tid`, which /proc showed blocked in a system call returning to `pc`; "parked"
 * only if the signal interrupted that very call (at `pc`, or `pc - 2` when the kernel rewound
 * it to restart). At most one thread is parked at a time; releaseParked() lets it go and puts
 * the signal's disposition back, whatever the result.
 */
export function parkThread(tid: number, pc: number): ParkResult {
  const s = parker();
  try {
    if (!s || !install()) return "unavailable";
  } catch {
    return "unavailable";
  }
  const r = s.snap_park_thread(tid, installed!.sig, ARRIVE_MS);
  if (r < 0) return "gone";
  if (r === 0) return "late";
  const at = Number(s.snap_park_where());
  if (at === pc || at === pc - 2) return "parked";
  s.snap_park_release();
  return "moved";
}

/**
 * Lets the parked thread go, if any, and puts the signal's disposition back (in the parent right
 * after the fork or when the snapshot is refused; in the child, where the thread does not exist,
 * to forget it and restore the disposition there too).
 */
export function releaseParked(): void {
  if (!installed) return;
  shim?.snap_park_release();
  const { sig, saved } = installed;
  installed = null;
  restoreAction(sig, ignoreAction());
  restoreAction(sig, saved);
}
