// The controlling terminal: process groups, the foreground group, settings.
import { libc } from "./ffi.ts";
import { blockSignal, SIGTTOU } from "./signal.ts";

const TCSADRAIN = 1;

/** setpgid(2); returns false when it failed (the process is gone or already in place). */
export function setpgid(pid: number, pgid: number): boolean {
  return libc().setpgid(pid, pgid) === 0;
}

export function getpgrp(): number {
  return libc().getpgrp();
}

export function isatty(fd: number): boolean {
  return libc().isatty(fd) === 1;
}

/** The foreground process group of the terminal at `fd`, or -1. */
export function tcgetpgrp(fd: number): number {
  return libc().tcgetpgrp(fd);
}

// Runs `fn` with SIGTTOU blocked: a background caller changing the terminal would get it.
function withoutTtou<T>(fn: () => T): T {
  blockSignal(SIGTTOU, true);
  try {
    return fn();
  } finally {
    blockSignal(SIGTTOU, false);
  }
}

/** Makes `pgid` the terminal's foreground group. */
export function tcsetpgrp(fd: number, pgid: number): boolean {
  return withoutTtou(() => libc().tcsetpgrp(fd, pgid) === 0);
}

/** The terminal's settings as libc's raw struct termios (60 bytes on Linux), or null. */
export function tcgetattr(fd: number): Uint8Array | null {
  const t = new Uint8Array(64);
  return libc().tcgetattr(fd, t) === 0 ? t : null;
}

/** Restores terminal settings saved by tcgetattr() once pending output is written (TCSADRAIN). */
export function tcsetattr(fd: number, saved: Uint8Array): void {
  withoutTtou(() => libc().tcsetattr(fd, TCSADRAIN, saved));
}
