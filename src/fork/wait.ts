// The parent's wait for its snapshot child: EINTR-safe, optionally bounded in time.
import { readFileSync } from "node:fs";
import { parseStat } from "../proc/threads.ts";
import { close, pollReadable, readSome } from "../sys/fd.ts";
import { kill, pidfdOpen, SIGKILL, waitpid, WUNTRACED } from "../sys/process.ts";

/** How the wait ended. */
export interface WaitResult {
  /** The raw wait status of the reaped child. */
  status: number;
  /** The time limit passed and the child was killed with SIGKILL. */
  timedOut: boolean;
}

/**
 * Blocks until `pid` ends; past `timeoutMs` kills it (SIGKILL) first. Always reaps it. With
 * `onStop`, a child stopped by a signal is reported to it (job control) and waited for again.
 */
export function waitChild(pid: number, timeoutMs?: number, onStop?: () => void): WaitResult {
  if (timeoutMs === undefined) {
    for (;;) {
      const status = waitpid(pid, onStop ? WUNTRACED : 0)!;
      if ((status & 0xff) !== 0x7f) return { status, timedOut: false };
      onStop!();
    }
  }
  const ended = waitUntil(pid, timeoutMs);
  // Not reaped yet, so the pid still names our child: safe to signal.
  if (!ended) kill(pid, SIGKILL);
  return { status: waitpid(pid)!, timedOut: !ended };
}

/** What a trial child said first: its function went async, it ended, or the limit passed. */
export type Said = { kind: "async"; msLeft?: number } | { kind: "ended" } | { kind: "timeout" };

/** The byte a trial child writes when its function returned a thenable. */
export const ASYNC_BYTE = 65; // "A"

/**
 * Blocks until a trial child writes to its pipe (its function went async) or the pipe ends
 * (the child ended; only it holds the write end), or `timeoutMs` passes.
 */
export function waitSaid(fd: number, timeoutMs?: number): Said {
  const t0 = performance.now();
  if (!pollReadable(fd, timeoutMs)) return { kind: "timeout" };
  if (readSome(fd, 1)[0] !== ASYNC_BYTE) return { kind: "ended" };
  if (timeoutMs === undefined) return { kind: "async" };
  return { kind: "async", msLeft: Math.max(1, timeoutMs - (performance.now() - t0)) };
}

// True when the child ended within `ms` (it is left unreaped, a zombie, for waitpid).
function waitUntil(pid: number, ms: number): boolean {
  const pidfd = pidfdOpen(pid);
  if (pidfd >= 0) {
    try {
      return pollReadable(pidfd, ms);
    } finally {
      close(pidfd);
    }
  }
  // Kernels before 5.3 have no pidfd; WNOHANG would reap, so look for the zombie instead.
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (isZombie(pid)) return true;
    Bun.sleepSync(1);
  }
  return isZombie(pid);
}

// Whether the process has ended and waits to be reaped (state Z in /proc/PID/stat).
function isZombie(pid: number): boolean {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "latin1")).state === "Z";
  } catch {
    return true;
  }
}
