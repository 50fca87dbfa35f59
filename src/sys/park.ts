// Parking one thread of this process for the length of a fork: the thread runs a C signal
// handler (park-c.ts) that sleeps until the parent lets it go, so it can take no lock while the
// fork copies the memory. x86_64 only; elsewhere, or when the compiler or a free real-time
// signal is missing, every call says "unavailable" and the caller keeps its older rule.
import { compileParker, type ParkerShim } from "./ffi.ts";
import { handlerOf, installInfoHandler, saveAction, sigrtmin } from "./signal.ts";

const SIGRTMAX = 64;
// How long the parent waits for the thread to arrive in the handler.
const ARRIVE_MS = 20;

let shim: ParkerShim | null | undefined;
let parkSignal = 0;
let handler = 0n;

// The shim compiled and its handler installed, once, on the highest real-time signal nobody
// handles or ignores; then, at each call, that signal still ours (an app may take it later).
function ready(): boolean {
  if (shim === undefined) {
    shim = null;
    if (process.arch !== "x64" || process.platform !== "linux") return false;
    try {
      const s = compileParker();
      const h = BigInt(s.snap_park_ptr() ?? 0);
      for (let sig = SIGRTMAX; h !== 0n && sig > sigrtmin() + 2; sig--) {
        if (handlerOf(saveAction(sig)) !== 0n) continue;
        installInfoHandler(sig, h);
        [shim, parkSignal, handler] = [s, sig, h];
        break;
      }
    } catch {
      shim = null;
    }
  }
  if (!shim) return false;
  try {
    return handlerOf(saveAction(parkSignal)) === handler;
  } catch {
    return false;
  }
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
 * it to restart). At most one thread is parked at a time; releaseParked() lets it go.
 */
export function parkThread(tid: number, pc: number): ParkResult {
  if (!ready()) return "unavailable";
  const r = shim!.snap_park_thread(tid, parkSignal, ARRIVE_MS);
  if (r < 0) return "gone";
  if (r === 0) return "late";
  const at = Number(shim!.snap_park_where());
  if (at === pc || at === pc - 2) return "parked";
  shim!.snap_park_release();
  return "moved";
}

/** Lets the parked thread go, if any (also right after the fork in the child: nobody is wanted). */
export function releaseParked(): void {
  shim?.snap_park_release();
}
