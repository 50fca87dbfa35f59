// Signal dispositions as libc's raw struct sigaction, the signal mask, and the real-time base.
import { check, libc } from "./ffi.ts";
import { setDefaultRtmin } from "../status.ts";
import { sigset } from "./process.ts";

// struct sigaction is laid out alike by glibc and musl on x64 and arm64: handler, a 128-byte
// mask, int flags, restorer (152 bytes); libc fills in the restorer.
export const SIGACTION_SIZE = 152;
const SA_FLAGS_AT = 136;
const SA_RESTART = 0x10000000;
const SA_SIGINFO = 4;
export const SIGINT = 2;
export const SIGSTOP = 19;
export const SIGCONT = 18;
export const SIGTTOU = 22;

/** The first real-time signal number of this libc (34 on glibc, 35 on musl). */
export function sigrtmin(): number {
  return libc().__libc_current_sigrtmin();
}

/** The current disposition of `sig` as libc's raw struct sigaction, to restore later. */
export function saveAction(sig: number): Uint8Array {
  const old = new Uint8Array(SIGACTION_SIZE);
  check("sigaction", libc().sigaction(sig, null, old));
  return old;
}

/** Restores a disposition saved by saveAction(). */
export function restoreAction(sig: number, saved: Uint8Array): void {
  check("sigaction", libc().sigaction(sig, saved, null));
}

/** Installs a three-argument C handler (SA_SIGINFO) for `sig` with SA_RESTART and an empty mask. */
export function installInfoHandler(sig: number, handler: number | bigint): void {
  const act = new Uint8Array(SIGACTION_SIZE);
  const view = new DataView(act.buffer);
  view.setBigUint64(0, BigInt(handler), true);
  view.setInt32(SA_FLAGS_AT, SA_RESTART | SA_SIGINFO, true);
  check("sigaction", libc().sigaction(sig, act, null));
}

/** A struct sigaction of SIG_IGN (for restoreAction: it also discards the signal if pending). */
export function ignoreAction(): Uint8Array {
  const act = new Uint8Array(SIGACTION_SIZE);
  new DataView(act.buffer).setBigUint64(0, 1n, true);
  return act;
}

/** The handler of a saved disposition: 0n SIG_DFL, 1n SIG_IGN, else the function's address. */
export function handlerOf(saved: Uint8Array): bigint {
  return new DataView(saved.buffer, saved.byteOffset).getBigUint64(0, true);
}

/** Blocks (true) or unblocks (false) one signal for the calling thread. */
export function blockSignal(sig: number, block: boolean): void {
  libc().sigprocmask(block ? 0 /* SIG_BLOCK */ : 1 /* SIG_UNBLOCK */, sigset(sig), null);
}

let rtminSet = false;

/** Makes signal names follow this libc's SIGRTMIN (34 on glibc, 35 on musl); once, on first need. */
export function useLibcRtmin(): void {
  if (rtminSet) return;
  rtminSet = true;
  try {
    setDefaultRtmin(sigrtmin());
  } catch {} // no C library here: the names keep glibc's base, and every snapshot call says ENOTSUP
}
