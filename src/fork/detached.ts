// Detached snapshots: the parent does not wait. It learns that the child ended from a pipe whose
// write end only the child holds (end of file when the child exits), read by its own event loop,
// then reaps it without blocking: no polling loop, no SIGCHLD handler, no zombie.
import { messages, SnapshotError } from "../errors.ts";
import { signalNumber } from "../status.ts";
import { close } from "../sys/fd.ts";
import { getpid, kill, waitpid, WNOHANG } from "../sys/process.ts";
import { makeOutcome, type Outcome } from "./outcome.ts";

/** The parent's handle on a detached snapshot child. */
export interface DetachedChild {
  role: "parent";
  /** The child's pid. */
  pid: number;
  /** Resolves with how the child ended, once it has been reaped. */
  exited: Promise<Outcome>;
  /** Sends `signal` (default SIGTERM) to the child; false once it has ended (never signals a reaped pid). */
  kill(signal?: NodeJS.Signals | number): boolean;
}

/** In the parent: watches `pid` through the read end of its exit pipe and reaps it when it ends. */
export function watchDetached(pid: number, exitPipe: number, t0: number): DetachedChild {
  let reaped = false;
  const owner = getpid();
  const exited = (async () => {
    const reader = Bun.file(exitPipe).stream().getReader();
    try {
      while (!(await reader.read()).done);
    } catch {}
    // The pipe closes as the child exits; the zombie appears a moment later. After every await,
    // this may be a later snapshot child's copy of the watcher (forked while it waited: on a pipe
    // its isolation cut, or in this loop): there the child is not ours to reap, so the copy never
    // settles. (Seen: a copy that reaped here died of ECHILD, 1 run in 7 of ten detached forks.)
    for (;;) {
      if (getpid() !== owner) return new Promise<never>(() => {});
      const status = waitpid(pid, WNOHANG);
      if (status !== null) {
        reaped = true;
        close(exitPipe);
        return makeOutcome(pid, status, performance.now() - t0);
      }
      await Bun.sleep(1);
    }
  })();
  return {
    role: "parent",
    pid,
    exited,
    kill(signal: NodeJS.Signals | number = "SIGTERM") {
      if (reaped) return false;
      const n = typeof signal === "number" ? signal : signalNumber(signal);
      if (n === undefined || !Number.isInteger(n) || n < 0 || n > 64) throw new SnapshotError("EINVAL", messages.unknownSignal(signal));
      return kill(pid, n);
    },
  };
}
