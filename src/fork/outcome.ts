// The parent's view of how a snapshot child ended.
import { decodeStatus } from "../status.ts";

/** How a snapshot child ended, as its parent saw it. */
export interface Outcome {
  /** The child's pid. */
  pid: number;
  /** The raw waitpid status word. */
  status: number;
  /** The exit code when the child exited; null when a signal ended it. */
  exitCode: number | null;
  /** The signal's name when a signal ended the child (e.g. "SIGSEGV"); null when it exited. */
  signal: NodeJS.Signals | null;
  /** True when the child dumped core as it died. */
  coreDumped: boolean;
  /** From the fork to the reap, in milliseconds, as the parent measured it. */
  durationMs: number;
}

/** Builds an Outcome from a raw status word. */
export function makeOutcome(pid: number, status: number, durationMs: number): Outcome {
  const s = decodeStatus(status);
  return {
    pid,
    status,
    exitCode: s.kind === "exited" ? s.code : null,
    signal: s.kind === "signaled" ? (s.signal as NodeJS.Signals) : null,
    coreDumped: s.kind === "signaled" && s.coreDumped,
    durationMs,
  };
}
