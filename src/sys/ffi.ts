// The only door to bun:ffi: loads the C library (glibc or musl) with every symbol the package
// calls, reads errno right after a failed call, and compiles the C signal handler (TinyCC).
// The files beside this one wrap the symbols by OS concern; nothing above src/sys/ sees a
// pointer or an errno.
import { cc, dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages, SnapshotError, syscallError } from "../errors.ts";
import { FORK_C } from "./fork-c.ts";
import { FORWARD_C } from "./forward-c.ts";
import { HANGUP_C } from "./hangup-c.ts";
import { PARK_C } from "./park-c.ts";

const { i32, u32, u64, i64, ptr: P, void: V, cstring } = FFIType;

const SYMBOLS = {
  fork: { args: [], returns: i32 },
  _exit: { args: [i32], returns: V },
  waitpid: { args: [i32, P, i32], returns: i32 },
  getpid: { args: [], returns: i32 },
  getppid: { args: [], returns: i32 },
  kill: { args: [i32, i32], returns: i32 },
  madvise: { args: [u64, u64, i32], returns: i32 },
  mmap: { args: [u64, u64, i32, i32, i32, i64], returns: i64 },
  munmap: { args: [u64, u64], returns: i32 },
  poll: { args: [P, u64, i32], returns: i32 },
  close: { args: [i32], returns: i32 },
  write: { args: [i32, P, u64], returns: i64 },
  read: { args: [i32, P, u64], returns: i64 },
  pread: { args: [i32, P, u64, i64], returns: i64 },
  lseek: { args: [i32, i64, i32], returns: i64 },
  memfd_create: { args: [cstring, u32], returns: i32 },
  syscall: { args: [i64, i64, i64], returns: i64 },
  execve: { args: [cstring, P, P], returns: i32 },
  signal: { args: [i32, u64], returns: u64 },
  sigprocmask: { args: [i32, P, P], returns: i32 },
  __errno_location: { args: [], returns: P },
  __libc_current_sigrtmin: { args: [], returns: i32 },
  pthread_self: { args: [], returns: u64 },
  epoll_create1: { args: [i32], returns: i32 },
  epoll_ctl: { args: [i32, i32, i32, P], returns: i32 },
  eventfd: { args: [u32, i32], returns: i32 },
  timerfd_create: { args: [i32, i32], returns: i32 },
  timerfd_settime: { args: [i32, i32, P, P], returns: i32 },
  dup3: { args: [i32, i32, i32], returns: i32 },
  open: { args: [cstring, i32, u32], returns: i32 },
  socketpair: { args: [i32, i32, i32, P], returns: i32 },
  pipe2: { args: [P, i32], returns: i32 },
  getsockopt: { args: [i32, i32, i32, P, P], returns: i32 },
  fcntl: { args: [i32, i32, i64], returns: i32 },
  socket: { args: [i32, i32, i32], returns: i32 },
  bind: { args: [i32, P, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  sigaction: { args: [i32, P, P], returns: i32 },
  setpgid: { args: [i32, i32], returns: i32 },
  getpgrp: { args: [], returns: i32 },
  tcgetpgrp: { args: [i32], returns: i32 },
  tcsetpgrp: { args: [i32, i32], returns: i32 },
  tcgetattr: { args: [i32, P], returns: i32 },
  tcsetattr: { args: [i32, i32, P], returns: i32 },
  isatty: { args: [i32], returns: i32 },
  prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
  getuid: { args: [], returns: u32 },
} as const;

type Lib = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: Lib | undefined;
let libPath = "";

/** Throws ENOTSUP anywhere but Linux on x64 or arm64. */
export function assertSupported(): void {
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
    throw new SnapshotError("ENOTSUP", messages.notSupported(process.platform, process.arch));
  }
}

// The C library this Bun runs on: musl's loader when Bun is a musl build, else glibc's libc.so.6.
function candidates(): string[] {
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  const musl = [`/lib/ld-musl-${arch}.so.1`, `libc.musl-${arch}.so.1`];
  let maps = "";
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
  } catch {}
  const isMusl = maps.includes("ld-musl") || (!maps.includes("libc.so.6") && existsSync(musl[0]!));
  return isMusl ? [...musl, "libc.so.6"] : ["libc.so.6", ...musl];
}

/** The loaded C library's symbols (loaded on first use). */
export function libc(): Lib {
  if (lib) return lib;
  assertSupported();
  const tried = candidates();
  for (const name of tried) {
    try {
      lib = dlopen(name, SYMBOLS).symbols;
      libPath = name;
      return lib;
    } catch {}
  }
  throw new SnapshotError("ENOTSUP", messages.noLibc(tried));
}

/** Which C library was loaded (a path or soname). */
export function libcName(): string {
  libc();
  return libPath;
}

/**
 * The version of the C library, e.g. "2.36": glibc's gnu_get_libc_version(). null on musl
 * (it has no such call) or when the library cannot be loaded.
 */
export function libcVersion(): string | null {
  try {
    libc();
    const { symbols } = dlopen(libPath, { gnu_get_libc_version: { args: [], returns: cstring } });
    return String(symbols.gnu_get_libc_version());
  } catch {
    return null;
  }
}

/** errno of the calling thread; call it right after the failed call, before any other. */
export function errno(): number {
  return read.i32(libc().__errno_location() as Pointer, 0);
}

/** Throws a SnapshotError with errno when a call returned -1; else the result as a number. */
export function check(syscall: string, r: number | bigint): number {
  const n = Number(r);
  if (n === -1) throw syscallError(syscall, errno());
  return n;
}

// Compiles C `source` with TinyCC (bun:ffi cc). cc reads a file, so the source (a string in the
// module, which survives bundling) goes to a private directory (0700) removed right after.
function compileC<S extends Parameters<typeof cc>[0]["symbols"]>(name: string, source: string, symbols: S) {
  const dir = mkdtempSync(join(tmpdir(), "bun-snapshot-cc-"));
  try {
    const file = join(dir, name);
    writeFileSync(file, source, { mode: 0o600 });
    return cc({ source: file, symbols });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The functions of forward.c, the signal handler a waiting parent runs. */
export interface ForwarderShim {
  /** Forwards to `pid` from now on; `flags[i]`: whether `sigs[i]` arrived since the install; returns how many did. */
  snap_attach(pid: number, sigs: Int32Array, n: number, flags: Int32Array): number;
  /** Saves the dispositions of `sigs` into `saved` (152 bytes each) and installs the handler on each, forwarding to nobody yet; 0 or -errno (nothing changed). */
  snap_install(sigs: Int32Array, n: number, saved: Uint8Array): number;
  /** Puts back what snap_install() saved, forwards to nobody; `flags` as snap_attach's, since the install. */
  snap_end(sigs: Int32Array, n: number, saved: Uint8Array, flags: Int32Array): number;
}

/** Compiles the forwarding handler (bun:ffi cc, TinyCC); throws where this Bun cannot. */
export function compileForwarder(): ForwarderShim {
  return compileC("forward.c", FORWARD_C, {
    snap_attach: { args: ["i32", "ptr", "i32", "ptr"], returns: "i32" },
    snap_install: { args: ["ptr", "i32", "ptr"], returns: "i32" },
    snap_end: { args: ["ptr", "i32", "ptr", "ptr"], returns: "i32" },
  }).symbols as unknown as ForwarderShim;
}

/** Compiles the hangup watcher of an attach copy (hangup-c.ts); throws where this Bun cannot. */
export function compileHangupWatcher(): { snap_watch_hangup(fd: number): number } {
  return compileC("hangup.c", HANGUP_C, { snap_watch_hangup: { args: ["i32"], returns: "i32" } }).symbols as unknown as {
    snap_watch_hangup(fd: number): number;
  };
}

/** The native fork (fork-c.ts): snap_fork(plan, out, sigactions, text), see src/fork/native.ts. */
export interface ForkShim {
  snap_fork(plan: Float64Array, out: Float64Array, sigs: Uint8Array, text: Uint8Array): number;
  /** This process's threads (see src/proc/threads.ts). */
  snap_threads(out: Float64Array, cap: number, names: Uint8Array, ncap: number): number;
  /** What a thread of this process is blocked in (see src/proc/threads.ts). */
  snap_syscall(tid: number, out: Float64Array): number;
  /** Ends this process with code, its teardown deferred when its fork said so (exit-c.ts); dry: returns. */
  snap_exit(code: number, dry: number): number;
}

let forkShim: ForkShim | null | undefined;

/**
 * The native fork, compiled once per process (TinyCC, ~8 ms; children inherit it); null where
 * this Bun cannot compile it, or with BUN_SNAPSHOT_NATIVE=0 (everything then runs in JavaScript).
 */
export function nativeFork(): ForkShim | null {
  if (process.env["BUN_SNAPSHOT_NATIVE"] === "0") return null; // read each time: tests compare both ways in one process
  if (forkShim !== undefined) return forkShim;
  try {
    forkShim = compileC("fork.c", FORK_C, {
      snap_fork: { args: ["ptr", "ptr", "ptr", "ptr"], returns: "i32" },
      snap_threads: { args: ["ptr", "i32", "ptr", "i32"], returns: "i32" },
      snap_syscall: { args: ["i32", "ptr"], returns: "i32" },
      snap_exit: { args: ["i32", "i32"], returns: "i32" },
    }).symbols as unknown as ForkShim;
  } catch {
    forkShim = null; // no TinyCC in this Bun
  }
  return forkShim;
}

/** The native fork's functions if this process (or its parent, before the fork) compiled them, whatever BUN_SNAPSHOT_NATIVE says now. */
export function forkShimCompiled(): ForkShim | null {
  return forkShim ?? null;
}

/** The native fork's functions if they are compiled already (never compiles them: see nativeFork()). */
export function compiledFork(): ForkShim | null {
  return process.env["BUN_SNAPSHOT_NATIVE"] === "0" ? null : forkShimCompiled();
}

/** The functions of park.c (park-c.ts): parks one thread of this process in a signal handler. */
export interface ParkerShim {
  snap_park_thread(tid: number, sig: number, ms: number): number;
  snap_park_where(): number | bigint;
  snap_park_release(): void;
  snap_park_ptr(): number | bigint | null;
}

/** Compiles the parking handler (bun:ffi cc, TinyCC); throws where this Bun cannot. */
export function compileParker(): ParkerShim {
  return compileC("park.c", PARK_C, {
    snap_park_thread: { args: ["i32", "i32", "i32"], returns: "i32" },
    snap_park_where: { args: [], returns: "u64" },
    snap_park_release: { args: [], returns: "void" },
    snap_park_ptr: { args: [], returns: "ptr" },
  }).symbols as unknown as ParkerShim;
}
