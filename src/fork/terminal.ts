// The terminal while a snapshot runs, as a shell handles it for a job: the child gets its own
// process group and the terminal's foreground, so Ctrl+C and Ctrl+\ reach only it; Ctrl+Z
// stops it and the whole job (the parent stops itself and the shell gets the terminal back);
// when the child ends, the parent takes the terminal back with the settings it had.
import { getpid, kill } from "../sys/process.ts";
import { SIGCONT, SIGSTOP } from "../sys/signal.ts";
import { getpgrp, isatty, setpgid, tcgetattr, tcgetpgrp, tcsetattr, tcsetpgrp } from "../sys/tty.ts";

const TTY = 0;

/** What the parent saved before the fork. */
export interface TerminalPlan {
  /** The parent's own process group, the terminal's foreground before the fork. */
  pgrp: number;
  /** The terminal's settings before the fork (raw struct termios). */
  settings: Uint8Array;
}

/**
 * Before the fork: a plan when the child should take the terminal (`foreground`, default: stdin
 * is a TTY) and this process is the terminal's foreground now; null otherwise (no TTY, or a
 * background job, which may not take the terminal).
 */
export function planTerminal(foreground: boolean | undefined): TerminalPlan | null {
  if (!(foreground ?? isatty(TTY)) || !isatty(TTY)) return null;
  const pgrp = getpgrp();
  if (tcgetpgrp(TTY) !== pgrp) return null;
  const settings = tcgetattr(TTY);
  return settings ? { pgrp, settings } : null;
}

/**
 * Whether the child gets a process group of its own: with the terminal (above), and without
 * any terminal, so that a signal to the parent's whole group reaches the child once, forwarded,
 * not twice. A child that shares a TTY it does not own stays in the parent's group.
 */
export function ownGroup(plan: TerminalPlan | null): boolean {
  return plan !== null || !isatty(TTY);
}

/** In the child, before user code: its own process group, in the foreground with `plan`. */
export function childTakesTerminal(plan: TerminalPlan | null): void {
  setpgid(0, 0);
  if (plan) tcsetpgrp(TTY, getpid());
}

/** In the parent after the fork: the same from its side (whichever runs first wins the race). */
export function parentHandsTerminal(plan: TerminalPlan | null, child: number): void {
  setpgid(child, child);
  if (plan) tcsetpgrp(TTY, child);
}

/** In the parent once the child has ended: the terminal back, with its settings as they were. */
export function parentTakesTerminalBack(plan: TerminalPlan): void {
  tcsetpgrp(TTY, plan.pgrp);
  tcsetattr(TTY, plan.settings);
}

/**
 * The child stopped (Ctrl+Z): stop this process too, so its shell sees the job stopped and takes
 * the terminal; once continued (`fg`), hand the terminal to the child again and continue it.
 */
export function stopTogether(plan: TerminalPlan, child: number): void {
  const childSettings = tcgetattr(TTY);
  parentTakesTerminalBack(plan);
  kill(getpid(), SIGSTOP);
  // Continued: the shell gave this process group the terminal.
  if (childSettings) tcsetattr(TTY, childSettings);
  tcsetpgrp(TTY, child);
  kill(-child, SIGCONT);
}
