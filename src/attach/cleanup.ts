// The socket of an attachable process goes when the process goes, on every way out a process can
// catch: a normal exit and an uncaught error ("exit" listeners run), and SIGTERM, SIGINT and
// SIGHUP when the app has no handler of its own for them (their default action still happens:
// the socket is removed, then the signal is raised again and ends the process as it would have).
// SIGKILL cannot be caught: the next listener with the pid, and the CLI, remove what it left.
import { unlinkSync } from "node:fs";
import { signalNumber } from "../status.ts";
import { getpid, reraise } from "../sys/process.ts";

const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** Removes `path` when process `owner` (not a snapshot of it) ends, by exit or by signal. */
export function removeSocketOnExit(path: string, owner: number): void {
  const remove = () => {
    if (getpid() !== owner) return;
    try {
      unlinkSync(path);
    } catch {}
  };
  process.on("exit", remove);
  for (const sig of SIGNALS) {
    const onSignal = () => {
      // The app handles this signal itself: it decides whether the process ends ("exit" then removes).
      if (process.listenerCount(sig) > 1) return;
      remove();
      process.off(sig, onSignal);
      reraise(signalNumber(sig)!);
    };
    process.on(sig, onSignal);
  }
}
