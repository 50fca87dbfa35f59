// The only file that touches bun:ffi: the C library (glibc or musl), errno, and constants.
import { cc, dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { messages, SnapshotError, syscallError } from "./errors.ts";

const { i32, u32, u64, i64, ptr: P, void: V, cstring } = FFIType;

const SYMBOLS = {
  fork: { args: [], returns: i32 },
  _exit: { args: [i32], returns: V },
  waitpid: { args: [i32, P, i32], returns: i32 },
  getpid: { args: [], returns: i32 },
  getppid: { args: [], returns: i32 },
  kill: { args: [i32, i32], returns: i32 },
  madvise: { args: [u64, u64, i32], returns: i32 },
  poll: { args: [P, u64, i32], returns: i32 },
  close: { args: [i32], returns: i32 },
  write: { args: [i32, P, u64], returns: i64 },
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

export const SIGKILL = 9;
export const WNOHANG = 1;
export const MADV_DOFORK = 11;
const MFD_CLOEXEC = 1;
const POLLIN = 1;
const EINTR = 4;
const SIG_UNBLOCK = 1;
const SEEK_END = 2;
const SYS_PIDFD_OPEN = 434; // the same number on x64 and arm64 (unified table from 424 on)
const SYS_GETTID = process.arch === "arm64" ? 178 : 186;

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

function load(): Lib {
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

/** Which C library was loaded (a path or soname), after the first call. */
export function libcName(): string {
  load();
  return libPath;
}

/** errno of the calling thread, read right after the failed call. */
function errno(): number {
  return read.i32(load().__errno_location() as Pointer, 0);
}

/** Throws a SnapshotError with errno when a call returned -1. */
function check(syscall: string, r: number | bigint): number {
  const n = Number(r);
  if (n === -1) throw syscallError(syscall, errno());
  return n;
}

/** fork(2): the child's pid in the parent, 0 in the child. Throws with the errno code on failure. */
export function fork(): number {
  const r = load().fork();
  if (r === -1) {
    const e = errno();
    throw syscallError("fork", e, messages.forkFailed(syscallError("fork", e).code));
  }
  return r;
}

/** _exit(2): ends this process now, running nothing. */
export function exitNow(code: number): never {
  load()._exit(code);
  throw new Error("unreachable: _exit returned");
}

export function getpid(): number {
  return load().getpid();
}

export function getppid(): number {
  return load().getppid();
}

/** kill(2); returns false when the process is gone (ESRCH). */
export function kill(pid: number, sig: number): boolean {
  const r = load().kill(pid, sig);
  if (r === -1) {
    const e = errno();
    if (e === 3) return false;
    throw syscallError("kill", e);
  }
  return true;
}

/** madvise(2); returns the errno (0 on success) rather than throwing. */
export function madvise(addr: number, len: number, advice: number): number {
  return load().madvise(addr, len, advice) === -1 ? errno() : 0;
}

const statusBuf = new Int32Array(1);

/**
 * waitpid(2), restarted on EINTR. Returns the raw status, or null with WNOHANG when the child
 * has not changed state. ECHILD is explained: the pid is not our child or was already reaped.
 */
export function waitpid(pid: number, flags = 0): number | null {
  const l = load();
  for (;;) {
    const r = l.waitpid(pid, statusBuf, flags);
    if (r === pid) return statusBuf[0]!;
    if (r === 0) return null;
    const e = errno();
    if (e === EINTR) continue;
    if (e === 10) {
      throw syscallError("waitpid", e, `waitpid(${pid}) failed: ECHILD (process ${pid} is not a child of this process, or was already reaped by someone else, e.g. a SIGCHLD handler set to SIG_IGN)`);
    }
    throw syscallError("waitpid", e);
  }
}

/** pidfd_open(2), or -1 when the kernel has none (before Linux 5.3). */
export function pidfdOpen(pid: number): number {
  const r = Number(load().syscall(SYS_PIDFD_OPEN, pid, 0));
  return r === -1 ? -1 : r;
}

const pollBuf = new Int32Array(2);

/** Waits up to `ms` for fd to become readable, restarting on EINTR with the time left. */
export function pollReadable(fd: number, ms: number): boolean {
  const l = load();
  const end = performance.now() + ms;
  for (;;) {
    pollBuf[0] = fd;
    pollBuf[1] = POLLIN;
    const left = Math.max(0, Math.ceil(end - performance.now()));
    const r = l.poll(pollBuf, 1, left);
    if (r > 0) return true;
    if (r === 0) return false;
    const e = errno();
    if (e !== EINTR) throw syscallError("poll", e);
  }
}

export function close(fd: number): void {
  load().close(fd);
}

/** memfd_create(2) with MFD_CLOEXEC. */
export function memfd(name: string): number {
  return check("memfd_create", load().memfd_create(Buffer.from(`${name}\0`), MFD_CLOEXEC));
}

/** Writes all of `data` to fd (at its current offset), restarting on EINTR and short writes. */
export function writeAll(fd: number, data: Uint8Array): void {
  const l = load();
  let off = 0;
  while (off < data.length) {
    const chunk = data.subarray(off);
    const r = Number(l.write(fd, chunk, chunk.length));
    if (r === -1) {
      const e = errno();
      if (e === EINTR) continue;
      throw syscallError("write", e);
    }
    off += r;
  }
}

/** The whole content of a regular file (a memfd) from offset 0, whatever its offset. */
export function readWhole(fd: number): Uint8Array {
  const l = load();
  const size = check("lseek", l.lseek(fd, 0, SEEK_END));
  const out = new Uint8Array(size);
  let off = 0;
  while (off < size) {
    const chunk = out.subarray(off);
    const r = Number(l.pread(fd, chunk, chunk.length, off));
    if (r === -1) {
      const e = errno();
      if (e === EINTR) continue;
      throw syscallError("pread", e);
    }
    if (r === 0) break;
    off += r;
  }
  return out.subarray(0, off);
}

/** The first real-time signal number of this libc (34 on glibc, 35 on musl). */
export function sigrtmin(): number {
  return load().__libc_current_sigrtmin();
}

/** Ends this process by `signo` as if the signal had killed it: default action, unblocked. */
export function reraise(signo: number): never {
  const l = load();
  l.signal(signo, 0); // SIG_DFL
  const set = new BigUint64Array(16); // sigset_t: 1024 bits
  set[Math.floor((signo - 1) / 64)] = 1n << BigInt((signo - 1) % 64);
  l.sigprocmask(SIG_UNBLOCK, set, null);
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
  load().execve(Buffer.from(`${path}\0`), a.array, e.array);
  const err = errno();
  void a.keep;
  void e.keep;
  throw syscallError("execve", err);
}

export const O_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;

/** epoll_create1(EPOLL_CLOEXEC). */
export function epollCreate(): number {
  return check("epoll_create1", load().epoll_create1(O_CLOEXEC));
}

// struct epoll_event is packed (12 bytes) on x86_64 and naturally aligned (16) elsewhere.
const EV_SIZE = process.arch === "x64" ? 12 : 16;
const evBuf = new Uint8Array(16);
const evView = new DataView(evBuf.buffer);

/** epoll_ctl(ADD) of `fd` with the given event mask and 64-bit data; returns the errno (0 on success). */
export function epollAdd(epfd: number, fd: number, events: number, data: bigint): number {
  evView.setUint32(0, events >>> 0, true);
  evView.setBigUint64(EV_SIZE === 12 ? 4 : 8, data, true);
  return load().epoll_ctl(epfd, EPOLL_CTL_ADD, fd, evBuf) === -1 ? errno() : 0;
}

/** The descriptors of this process's epoll instances. */
export function epollFds(): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === "anon_inode:[eventpoll]") out.push(Number(name));
    } catch {}
  }
  return out;
}

/** epoll_ctl(DEL) of `fd`; returns the errno (0 on success, ENOENT when it was not registered). */
export function epollDel(epfd: number, fd: number): number {
  return load().epoll_ctl(epfd, 2 /* EPOLL_CTL_DEL */, fd, evBuf) === -1 ? errno() : 0;
}

/** eventfd(2) with an initial count and flags (EFD_NONBLOCK, EFD_CLOEXEC, EFD_SEMAPHORE). */
export function eventfd(count: number, flags: number): number {
  return check("eventfd", load().eventfd(count, flags));
}

/** A timerfd on `clock` with `flags`, armed with the given value and interval (seconds, nanoseconds). */
export function timerfd(clock: number, flags: number, value: [number, number], interval: [number, number]): number {
  const fd = check("timerfd_create", load().timerfd_create(clock, flags));
  const spec = new BigInt64Array([BigInt(interval[0]), BigInt(interval[1]), BigInt(value[0]), BigInt(value[1])]);
  check("timerfd_settime", load().timerfd_settime(fd, 0, spec, null));
  return fd;
}

/** dup3(2): makes `to` refer to what `from` refers to, with O_CLOEXEC or not. */
export function dup3(from: number, to: number, flags: number): void {
  check("dup3", load().dup3(from, to, flags));
}

/** open(2); throws with the errno code. */
export function open(path: string, flags: number, mode = 0): number {
  return check("open", load().open(Buffer.from(`${path}\0`), flags, mode));
}

/** The status flags (F_GETFL) and whether close-on-exec is set (F_GETFD), as one open(2)-style flag word. */
export function fdFlags(fd: number): number {
  const l = load();
  const fl = check("fcntl", l.fcntl(fd, 3 /* F_GETFL */, 0));
  const fdfl = check("fcntl", l.fcntl(fd, 1 /* F_GETFD */, 0));
  return fl | (fdfl & 1 ? O_CLOEXEC : 0);
}

/** The current offset of fd (lseek SEEK_CUR). */
export function offset(fd: number): number {
  return check("lseek", load().lseek(fd, 0, 1));
}

/** pread(2) of up to `len` bytes at `at`; returns the bytes read (fewer at end of file, none on error). */
export function readAt(fd: number, len: number, at: number): Uint8Array {
  const buf = new Uint8Array(len);
  const n = Number(load().pread(fd, buf, len, at));
  return buf.subarray(0, Math.max(0, n));
}

/** lseek(fd, offset, SEEK_SET). */
export function seek(fd: number, offset: number): void {
  check("lseek", load().lseek(fd, offset, 0));
}

/** A connected pair of AF_UNIX stream sockets (close-on-exec). */
export function socketPair(): [number, number] {
  const sv = new Int32Array(2);
  check("socketpair", load().socketpair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O_CLOEXEC, 0, sv));
  return [sv[0]!, sv[1]!];
}

/**
 * A listening AF_UNIX socket on an address nobody knows (autobound, abstract): it never becomes
 * readable, so an event loop that watches it never wakes for it.
 */
export function quietListener(): number {
  const fd = check("socket", load().socket(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | O_CLOEXEC, 0));
  // An address of just the family: the kernel picks an abstract name (autobind).
  check("bind", load().bind(fd, new Uint16Array([1 /* AF_UNIX */]), 2));
  check("listen", load().listen(fd, 1));
  return fd;
}

/** A pipe (close-on-exec): [read end, write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", load().pipe2(fds, O_CLOEXEC));
  return [fds[0]!, fds[1]!];
}

/** The pid, uid and gid of the peer of a connected Unix socket (SO_PEERCRED). */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const cred = new Int32Array(3);
  const len = new Uint32Array([12]);
  check("getsockopt", load().getsockopt(fd, 1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, cred, len));
  return { pid: cred[0]!, uid: cred[1]! >>> 0, gid: cred[2]! >>> 0 };
}

/**
 * Replaces `fd` with a socket whose peer is gone: this process lets go of the connection without
 * shutting it down for another process that shares it. Its registrations in this process's epoll
 * instances go first: they belong to the connection, not to the number, and would go on reporting
 * the other process's traffic to a socket object this process is about to free.
 */
export function letGo(fd: number): void {
  for (const ep of epollFds()) epollDel(ep, fd);
  const [a, b] = socketPair();
  close(b);
  dup3(a, fd, O_CLOEXEC);
  close(a);
}

/** Whether a socket is listening (SO_ACCEPTCONN); false for anything getsockopt refuses. */
export function isListening(fd: number): boolean {
  const val = new Int32Array(1);
  const len = new Uint32Array([4]);
  return load().getsockopt(fd, 1 /* SOL_SOCKET */, 30 /* SO_ACCEPTCONN */, val, len) === 0 && val[0] !== 0;
}

/**
 * The version of the C library, e.g. "2.36": glibc's gnu_get_libc_version(). null on musl
 * (it has no such call) or when the library cannot be loaded.
 */
export function libcVersion(): string | null {
  try {
    load();
    const { symbols } = dlopen(libPath, { gnu_get_libc_version: { args: [], returns: cstring } });
    return String(symbols.gnu_get_libc_version());
  } catch {
    return null;
  }
}

/** The calling thread's kernel id (gettid(2)). */
export function gettid(): number {
  return Number(load().syscall(SYS_GETTID, 0, 0));
}

/** The calling thread's pthread_t: on glibc and musl, the address of its thread descriptor. */
export function pthreadSelf(): number {
  return Number(load().pthread_self());
}

/**
 * A live view (no copy) of `len` bytes of this process's memory at `addr`. The caller must know
 * the whole range is mapped (from /proc/self/maps): touching an unmapped byte kills the process.
 */
export function memoryView(addr: number, len: number): ArrayBuffer {
  return toArrayBuffer(addr as Pointer, 0, len);
}

/** The 32-bit word at `addr` of this process's memory (which must be mapped). */
export function peek32(addr: number): number {
  return read.u32(addr as Pointer, 0);
}

/** The 64-bit word at `addr` of this process's memory (which must be mapped), as a number (addresses fit). */
export function peek64(addr: number): number {
  return Number(read.u64(addr as Pointer, 0));
}

/** Writes a 32-bit word into this process's memory at `addr` (which must be mapped writable). */
export function poke32(addr: number, value: number): void {
  new Uint32Array(toArrayBuffer(addr as Pointer, 0, 4))[0] = value;
}

/** Writes a 64-bit word into this process's memory at `addr` (which must be mapped writable). */
export function poke64(addr: number, value: number): void {
  new BigUint64Array(toArrayBuffer(addr as Pointer, 0, 8))[0] = BigInt(value);
}

// struct sigaction is laid out alike by glibc and musl on x64 and arm64: handler, a 128-byte
// mask, int flags, restorer (152 bytes); libc fills in the restorer.
export const SIGACTION_SIZE = 152;
const SA_FLAGS_AT = 136;
const SA_RESTART = 0x10000000;
export const SIGINT = 2;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTTOU = 22;

/** The current disposition of `sig` as libc's raw struct sigaction, to restore later. */
export function saveAction(sig: number): Uint8Array {
  const old = new Uint8Array(SIGACTION_SIZE);
  check("sigaction", load().sigaction(sig, null, old));
  return old;
}

/** Restores a disposition saved by saveAction(). */
export function restoreAction(sig: number, saved: Uint8Array): void {
  check("sigaction", load().sigaction(sig, saved, null));
}

/** Installs a C handler (a function pointer) for `sig` with SA_RESTART and an empty mask. */
export function installHandler(sig: number, handler: number | bigint): void {
  const act = new Uint8Array(SIGACTION_SIZE);
  const view = new DataView(act.buffer);
  view.setBigUint64(0, BigInt(handler), true);
  view.setInt32(SA_FLAGS_AT, SA_RESTART, true);
  check("sigaction", load().sigaction(sig, act, null));
}

/** Blocks (true) or unblocks (false) one signal for the calling thread. */
export function blockSignal(sig: number, block: boolean): void {
  const set = new BigUint64Array(16);
  set[Math.floor((sig - 1) / 64)] = 1n << BigInt((sig - 1) % 64);
  load().sigprocmask(block ? 0 /* SIG_BLOCK */ : 1 /* SIG_UNBLOCK */, set, null);
}

/** setpgid(2); returns false when it failed (the process is gone or already in place). */
export function setpgid(pid: number, pgid: number): boolean {
  return load().setpgid(pid, pgid) === 0;
}

export function getpgrp(): number {
  return load().getpgrp();
}

export function isatty(fd: number): boolean {
  return load().isatty(fd) === 1;
}

/** The foreground process group of the terminal at `fd`, or -1. */
export function tcgetpgrp(fd: number): number {
  return load().tcgetpgrp(fd);
}

/** Makes `pgid` the terminal's foreground group, with SIGTTOU blocked (a background caller would get it). */
export function tcsetpgrp(fd: number, pgid: number): boolean {
  blockSignal(SIGTTOU, true);
  try {
    return load().tcsetpgrp(fd, pgid) === 0;
  } finally {
    blockSignal(SIGTTOU, false);
  }
}

/** The terminal's settings as libc's raw struct termios (60 bytes on Linux), or null. */
export function tcgetattr(fd: number): Uint8Array | null {
  const t = new Uint8Array(64);
  return load().tcgetattr(fd, t) === 0 ? t : null;
}

/** Restores terminal settings saved by tcgetattr() once pending output is written (TCSADRAIN). */
export function tcsetattr(fd: number, saved: Uint8Array): void {
  blockSignal(SIGTTOU, true);
  try {
    load().tcsetattr(fd, 1, saved);
  } finally {
    blockSignal(SIGTTOU, false);
  }
}

export function getuid(): number {
  return load().getuid();
}

/** The functions of src/forward.c, the signal handler a waiting parent runs. */
export interface ForwarderShim {
  snap_set_child(pid: number): void;
  snap_take_pending(): bigint;
  snap_forward_ptr(): number | bigint | null;
}

/** Compiles the forwarding handler (bun:ffi cc, TinyCC); throws where this Bun cannot. */
export function compileForwarder(source: string): ForwarderShim {
  return cc({
    source,
    symbols: {
      snap_set_child: { args: ["i32"], returns: "void" },
      snap_take_pending: { args: [], returns: "u64" },
      snap_forward_ptr: { args: [], returns: "ptr" },
    },
  }).symbols as unknown as ForwarderShim;
}

/** prctl(PR_SET_PDEATHSIG, sig): this process gets `sig` when its parent dies. */
export function setParentDeathSignal(sig: number): void {
  check("prctl", load().prctl(1, sig, 0, 0, 0));
}

/** The address family of socket `fd` (SO_DOMAIN: 1 unix, 2 IPv4, 10 IPv6), or -1 when it has none. */
export function socketDomain(fd: number): number {
  const val = new Int32Array(1);
  const len = new Uint32Array([4]);
  return load().getsockopt(fd, 1 /* SOL_SOCKET */, 39 /* SO_DOMAIN */, val, len) === 0 ? val[0]! : -1;
}
