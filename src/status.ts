// Wait statuses and signal names: pure functions that decode what waitpid(2) returns, no I/O.

/**
 * A decoded wait status, as glibc's `<sys/wait.h>` macros classify it.
 *
 * - `exited`: `WIFEXITED`; `code` is `WEXITSTATUS`.
 * - `signaled`: `WIFSIGNALED`; `signo` is `WTERMSIG`, `coreDumped` is `WCOREDUMP != 0`.
 * - `stopped`: `WIFSTOPPED`; `signo` is `WSTOPSIG`.
 * - `continued`: `WIFCONTINUED`, i.e. the status is exactly `0xffff`.
 * - `unknown`: none of the four macros is true. That happens for every status whose low byte is
 *   `0xff` except `0xffff` itself (the kernel never reports such a status); `status` is the input
 *   as a C `int`.
 */
export type WaitStatus =
  | { kind: "exited"; code: number }
  | { kind: "signaled"; signo: number; signal: string; coreDumped: boolean }
  | { kind: "stopped"; signo: number; signal: string }
  | { kind: "continued" }
  | { kind: "unknown"; status: number };

/** One row of the signal table: the Linux number, the name, and glibc's `strsignal()` text. */
export interface SignalInfo {
  readonly number: number;
  readonly name: string;
  readonly description: string;
}

/**
 * The standard Linux signals, 1 to 31. The numbers are the same on x64 and arm64 (both use the
 * asm-generic layout for these), descriptions are glibc's `strsignal()` text.
 */
export const SIGNALS: readonly SignalInfo[] = Object.freeze(
  [
    { number: 1, name: "SIGHUP", description: "Hangup" },
    { number: 2, name: "SIGINT", description: "Interrupt" },
    { number: 3, name: "SIGQUIT", description: "Quit" },
    { number: 4, name: "SIGILL", description: "Illegal instruction" },
    { number: 5, name: "SIGTRAP", description: "Trace/breakpoint trap" },
    { number: 6, name: "SIGABRT", description: "Aborted" },
    { number: 7, name: "SIGBUS", description: "Bus error" },
    { number: 8, name: "SIGFPE", description: "Floating point exception" },
    { number: 9, name: "SIGKILL", description: "Killed" },
    { number: 10, name: "SIGUSR1", description: "User defined signal 1" },
    { number: 11, name: "SIGSEGV", description: "Segmentation fault" },
    { number: 12, name: "SIGUSR2", description: "User defined signal 2" },
    { number: 13, name: "SIGPIPE", description: "Broken pipe" },
    { number: 14, name: "SIGALRM", description: "Alarm clock" },
    { number: 15, name: "SIGTERM", description: "Terminated" },
    { number: 16, name: "SIGSTKFLT", description: "Stack fault" },
    { number: 17, name: "SIGCHLD", description: "Child exited" },
    { number: 18, name: "SIGCONT", description: "Continued" },
    { number: 19, name: "SIGSTOP", description: "Stopped (signal)" },
    { number: 20, name: "SIGTSTP", description: "Stopped" },
    { number: 21, name: "SIGTTIN", description: "Stopped (tty input)" },
    { number: 22, name: "SIGTTOU", description: "Stopped (tty output)" },
    { number: 23, name: "SIGURG", description: "Urgent I/O condition" },
    { number: 24, name: "SIGXCPU", description: "CPU time limit exceeded" },
    { number: 25, name: "SIGXFSZ", description: "File size limit exceeded" },
    { number: 26, name: "SIGVTALRM", description: "Virtual timer expired" },
    { number: 27, name: "SIGPROF", description: "Profiling timer expired" },
    { number: 28, name: "SIGWINCH", description: "Window changed" },
    { number: 29, name: "SIGIO", description: "I/O possible" },
    { number: 30, name: "SIGPWR", description: "Power failure" },
    { number: 31, name: "SIGSYS", description: "Bad system call" },
  ].map((row) => Object.freeze(row)),
);

/**
 * Other names `<signal.h>` gives the same Linux signals. `signalNumber` accepts them;
 * `signalName` never returns them.
 */
export const SIGNAL_ALIASES: Readonly<Record<string, number>> = Object.freeze({
  SIGIOT: 6,
  SIGCLD: 17,
  SIGPOLL: 29,
});

/** The highest signal number on Linux (`_NSIG - 1`, which is `SIGRTMAX`). */
export const SIGRTMAX = 64;

const NAME_BY_NUMBER = new Map<number, string>(SIGNALS.map((s) => [s.number, s.name]));
// Names and aliases to numbers; a Map, so "toString" or "__proto__" find nothing.
const NUMBER_BY_NAME = new Map<string, number>([
  ...SIGNALS.map((s): [string, number] => [s.name, s.number]),
  ...Object.entries(SIGNAL_ALIASES),
]);

let defaultRtmin = 34;

// Throws unless `rtmin` could be a Linux SIGRTMIN (an integer from 32 to 64).
function checkRtmin(rtmin: number): number {
  if (!Number.isInteger(rtmin) || rtmin < 32 || rtmin > SIGRTMAX) {
    throw new RangeError(`invalid SIGRTMIN ${rtmin}: expected an integer from 32 to ${SIGRTMAX}`);
  }
  return rtmin;
}

/**
 * Sets the SIGRTMIN used when a function here is called without `rtmin`. It starts at 34
 * (glibc); musl uses 35. Throws a RangeError unless `n` is an integer from 32 to 64.
 */
export function setDefaultRtmin(n: number): void {
  defaultRtmin = checkRtmin(n);
}

/** The SIGRTMIN used when a function here is called without `rtmin`. */
export function getDefaultRtmin(): number {
  return defaultRtmin;
}

/**
 * The name of signal `signo`: `SIGKILL` for the standard ones, `SIGRTMIN` and `SIGRTMIN+n` from
 * `rtmin` to 64, and `SIG<n>` for any other number (0, 32 and 33 under glibc, above 64, ...).
 * Throws a RangeError when `signo` is not an integer or `rtmin` is not from 32 to 64.
 */
export function signalName(signo: number, rtmin: number = defaultRtmin): string {
  checkRtmin(rtmin);
  if (!Number.isInteger(signo)) throw new RangeError(`invalid signal number ${signo}: not an integer`);
  const name = NAME_BY_NUMBER.get(signo);
  if (name !== undefined) return name;
  if (signo >= rtmin && signo <= SIGRTMAX) return signo === rtmin ? "SIGRTMIN" : `SIGRTMIN+${signo - rtmin}`;
  return `SIG${signo}`;
}

/**
 * The number of the signal called `name`, the inverse of `signalName` for 1 to 64: standard names
 * (`SIGTERM` is 15) and their aliases (`SIGIOT`, `SIGCLD`, `SIGPOLL`), `SIGRTMIN` / `SIGRTMIN+n`
 * relative to `rtmin`, and `SIG<n>` for a number in 1..64 that has no other name. Exact spelling
 * only (upper case, `SIG` prefix); anything else, or a number above 64, gives undefined.
 */
export function signalNumber(name: string, rtmin: number = defaultRtmin): number | undefined {
  checkRtmin(rtmin);
  const known = NUMBER_BY_NAME.get(name);
  if (known !== undefined) return known;
  if (name === "SIGRTMIN") return rtmin;
  const rt = /^SIGRTMIN\+([1-9][0-9]?)$/.exec(name);
  if (rt) {
    const n = rtmin + Number(rt[1]);
    return n <= SIGRTMAX ? n : undefined;
  }
  const plain = /^SIG([1-9][0-9]?)$/.exec(name);
  if (plain) {
    const n = Number(plain[1]);
    return n <= SIGRTMAX && signalName(n, rtmin) === name ? n : undefined;
  }
  return undefined;
}

// The status as a C int: integers wrap to 32-bit two's complement, anything else throws.
function toCInt(status: number): number {
  if (!Number.isInteger(status)) throw new RangeError(`invalid wait status ${status}: not an integer`);
  return status | 0;
}

/**
 * Decodes a raw wait status exactly as glibc's macros do (checked for every value 0..0xffff).
 * The four cases are disjoint: exited needs `s & 0x7f == 0`, signaled needs it in 1..126,
 * stopped needs the low byte `0x7f`, continued needs `s == 0xffff` (low byte `0xff`, so
 * `WIFSTOPPED(0xffff)` is false). Statuses with low byte `0xff` other than `0xffff` match no
 * macro and decode as `unknown`. `0x007f` is "stopped by signal 0", `0x0080` "exited with code 0"
 * (both as the macros say; the kernel produces neither). `status` is taken as a C int: integers
 * outside the int32 range wrap; a non-integer throws a RangeError.
 */
export function decodeStatus(status: number, rtmin: number = defaultRtmin): WaitStatus {
  checkRtmin(rtmin);
  const s = toCInt(status);
  const termsig = s & 0x7f; // WTERMSIG
  const high = (s & 0xff00) >> 8; // WEXITSTATUS and WSTOPSIG
  if (termsig === 0) return { kind: "exited", code: high };
  // WIFSIGNALED: ((signed char)((s & 0x7f) + 1) >> 1) > 0, true exactly for termsig 1..126.
  if ((((termsig + 1) << 24) >> 24) >> 1 > 0) {
    return { kind: "signaled", signo: termsig, signal: signalName(termsig, rtmin), coreDumped: (s & 0x80) !== 0 };
  }
  if ((s & 0xff) === 0x7f) return { kind: "stopped", signo: high, signal: signalName(high, rtmin) };
  if (s === 0xffff) return { kind: "continued" };
  return { kind: "unknown", status: s };
}

// " (SIGSEGV)" for a signal with a real name, "" for one that is only "SIG<n>".
function nameSuffix(signo: number, rtmin: number): string {
  const name = signalName(signo, rtmin);
  return name === `SIG${signo}` ? "" : ` (${name})`;
}

/**
 * A wait status in words, in the style of Rust's `ExitStatus`: `exit code 3`,
 * `signal 11 (SIGSEGV) (core dumped)`, `signal 9 (SIGKILL)`, `stopped by signal 19 (SIGSTOP)`,
 * `continued`. A signal with no name shows its number alone (`signal 32`); a status no macro
 * accepts reads `unrecognised wait status 511 (0x1ff)`.
 */
export function describeStatus(status: number, rtmin: number = defaultRtmin): string {
  const d = decodeStatus(status, rtmin);
  switch (d.kind) {
    case "exited":
      return `exit code ${d.code}`;
    case "signaled":
      return `signal ${d.signo}${nameSuffix(d.signo, rtmin)}${d.coreDumped ? " (core dumped)" : ""}`;
    case "stopped":
      return `stopped by signal ${d.signo}${nameSuffix(d.signo, rtmin)}`;
    case "continued":
      return "continued";
    case "unknown":
      return `unrecognised wait status ${d.status} (0x${(d.status >>> 0).toString(16)})`;
  }
}
