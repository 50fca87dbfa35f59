// Processes: fork, exit, wait, signal delivery, identity, exec, parent-death signal.
import { ptr } from "bun:ffi";
import { messages, syscallError } from "../errors.ts";
import { check, errno, forkShimCompiled, libc } from "./ffi.ts";

export const SIGKILL = 9;
export const WNOHANG = 1;
export const WUNTRACED = 2;
const EINTR = 4;
const ESRCH = 3;
const ECHILD = 10;
const SIG_UNBLOCK = 1;
const SYS_PIDFD_OPEN = 434; // the same number on x64 and arm64 (unified table from 424 on)
const SYS_GETTID = process.arch === "arm64" ? 178 : 186;
const SYS_GETPID = process.arch === "arm64" ? 172 : 39;
const SYS_EXIT_GROUP = process.arch === "arm64" ? 94 : 231;

/** fork(2): the child's pid in the parent, 0 in the child. Throws with the errno code on failure. */
export function fork(): number {
  const r = libc().fork();
  if (r === -1) throw forkError(errno());
  return r;
}

/** The error of a fork(2) that failed with `e`, saying what to do. */
export function forkError(e: number): Error {
  return syscallError("fork", e, messages.forkFailed(syscallError("fork", e).code));
}

/**
 * _exit(2): ends this process now, running nothing. With `dry` (a parent about to fork rehearsing
 * its child's end) returns at once: a function first called in a child is compiled there, a
 * hundred copy-on-write page faults. Where the native fork is compiled, a child it made leaves
 * the teardown of its memory to a helper (src/sys/exit-c.ts): its parent's wait returns sooner.
 */
export function exitNow(code: number, dry = false): never {
  // exit_group(2), what _exit() is, the same call in the rehearsal (dry) as in the child: the
  // child then calls nothing its parent has not (Bun 1.3 wraps each FFI symbol in JavaScript
  // compiled at its first call); through syscall() as getpid(2) without the native fork.
  const shim = forkShimCompiled();
  if (shim) shim.snap_exit(code | 0, dry ? 1 : 0);
  else libc().syscall(dry ? SYS_GETPID : SYS_EXIT_GROUP, code, 0);
  if (dry) return undefined as never;
  throw new Error("unreachable: exit_group returned");
}

export function getpid(): number {
  return libc().getpid();
}

export function getppid(): number {
  return libc().getppid();
}

export function getuid(): number {
  return libc().getuid();
}

/** kill(2); returns false when the process is gone (ESRCH). */
export function kill(pid: number, sig: number): boolean {
  const l = libc();
  if (l.kill(pid, sig) === 0) return true;
  const e = errno();
  if (e === ESRCH) return false;
  throw syscallError("kill", e);
}

const statusBuf = new Int32Array(1);

/**
 * waitpid(2), restarted on EINTR. Returns the raw status, or null with WNOHANG when the child
 * has not changed state. ECHILD is explained: the pid is not our child or was already reaped.
 */
export function waitpid(pid: number, flags = 0): number | null {
  const l = libc();
  for (;;) {
    const r = l.waitpid(pid, statusBuf, flags);
    if (r === pid) return statusBuf[0]!;
    if (r === 0) return null;
    const e = errno();
    if (e === EINTR) continue;
    if (e === ECHILD) throw syscallError("waitpid", e, messages.waitNotChild(pid));
    throw syscallError("waitpid", e);
  }
}

/** pidfd_open(2), or -1 when the kernel has none (before Linux 5.3). */
export function pidfdOpen(pid: number): number {
  const r = Number(libc().syscall(SYS_PIDFD_OPEN, pid, 0));
  return r === -1 ? -1 : r;
}

/** The calling thread's kernel id (gettid(2)). */
export function gettid(): number {
  return Number(libc().syscall(SYS_GETTID, 0, 0));
}

/** The calling thread's pthread_t: on glibc and musl, the address of its thread descriptor. */
export function pthreadSelf(): number {
  return Number(libc().pthread_self());
}

/** A signal set (sigset_t, 1024 bits) holding one signal. */
export function sigset(signo: number): BigUint64Array {
  const set = new BigUint64Array(16);
  set[Math.floor((signo - 1) / 64)] = 1n << BigInt((signo - 1) % 64);
  return set;
}

/** Ends this process by `signo` as if the signal had killed it: default action, unblocked. */
export function reraise(signo: number): never {
  const l = libc();
  l.signal(signo, 0); // SIG_DFL
  l.sigprocmask(SIG_UNBLOCK, sigset(signo), null);
  l.kill(l.getpid(), signo);
  return exitNow(128 + signo);
}

// NUL-terminated strings and a NULL-terminated array of pointers to them, for execve.
function cStringArray(items: string[]): { array: BigUint64Array; keep: Buffer[] } {
  const keep = items.map((s) => Buffer.from(`${s}\0`));
  const array = new BigUint64Array(items.length + 1);
  keep.forEach((b, i) => (array[i] = BigInt(ptr(b))));
  return { array, keep };
}

/** execve(2): replaces this process image (same pid, same descriptors). Returns only by throwing. */
export function execve(path: string, argv: string[], env: string[]): never {
  const a = cStringArray(argv);
  const e = cStringArray(env);
  libc().execve(Buffer.from(`${path}\0`), a.array, e.array);
  const err = errno();
  void a.keep;
  void e.keep;
  throw syscallError("execve", err);
}

/** prctl(PR_SET_PDEATHSIG, sig): this process gets `sig` when its parent dies. */
export function setParentDeathSignal(sig: number): void {
  check("prctl", libc().prctl(1, sig, 0, 0, 0));
}
