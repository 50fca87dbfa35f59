// File descriptors: open, close, duplicate, read and write whole buffers, offsets, flags,
// pipes, memfds, and waiting for one to become readable.
import { syscallError } from "../errors.ts";
import { check, errno, libc } from "./ffi.ts";

export const O_CLOEXEC = 0o2000000;
// open(2) flags and st_mode types (the same on x64 and arm64 but O_NOFOLLOW, below).
export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
/** 0o400000 on x64; on arm64 that number is O_LARGEFILE, and O_NOFOLLOW is 0o100000. */
export const O_NOFOLLOW = process.arch === "arm64" ? 0o100000 : 0o400000;
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o40000;
export const S_IFIFO = 0o10000;
const MFD_CLOEXEC = 1;
const POLLIN = 1;
const EINTR = 4;
const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const FD_CLOEXEC = 1;

export function close(fd: number): void {
  libc().close(fd);
}

/** open(2); throws with the errno code. */
export function open(path: string, flags: number, mode = 0): number {
  return check("open", libc().open(Buffer.from(`${path}\0`), flags, mode));
}

/** dup3(2): makes `to` refer to what `from` refers to, with O_CLOEXEC or not. */
export function dup3(from: number, to: number, flags: number): void {
  check("dup3", libc().dup3(from, to, flags));
}

/** memfd_create(2) with MFD_CLOEXEC. */
export function memfd(name: string): number {
  return check("memfd_create", libc().memfd_create(Buffer.from(`${name}\0`), MFD_CLOEXEC));
}

/** A pipe (close-on-exec): [read end, write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", libc().pipe2(fds, O_CLOEXEC));
  return [fds[0]!, fds[1]!];
}

/** Writes all of `data` to fd (at its current offset), restarting on EINTR and short writes. */
export function writeAll(fd: number, data: Uint8Array): void {
  const l = libc();
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

/** The size of a regular file (a memfd): lseek to its end. */
export function fileSize(fd: number): number {
  return check("lseek", libc().lseek(fd, 0, SEEK_END));
}

/** pread(2) of up to `len` bytes at `at`; returns the bytes read (fewer at end of file, none on error). */
export function readAt(fd: number, len: number, at: number): Uint8Array {
  const buf = new Uint8Array(len);
  const n = Number(libc().pread(fd, buf, len, at));
  return buf.subarray(0, Math.max(0, n));
}

/** The current offset of fd (lseek SEEK_CUR). */
export function offset(fd: number): number {
  return check("lseek", libc().lseek(fd, 0, SEEK_CUR));
}

/** lseek(fd, offset, SEEK_SET). */
export function seek(fd: number, offset: number): void {
  check("lseek", libc().lseek(fd, offset, SEEK_SET));
}

/** The status flags (F_GETFL) and whether close-on-exec is set (F_GETFD), as one open(2)-style flag word. */
export function fdFlags(fd: number): number {
  const l = libc();
  const fl = check("fcntl", l.fcntl(fd, F_GETFL, 0));
  const fdfl = check("fcntl", l.fcntl(fd, F_GETFD, 0));
  return fl | (fdfl & 1 ? O_CLOEXEC : 0);
}

/** Sets or clears fd's close-on-exec flag (F_SETFD). */
export function setCloseOnExec(fd: number, on: boolean): void {
  check("fcntl", libc().fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0));
}

const pollBuf = new Int32Array(2);
const POLLOUT = 4;
const EAGAIN = 11;

/** Waits up to `ms` (forever when undefined) for fd to become readable, restarting on EINTR with the time left. */
export function pollReadable(fd: number, ms?: number): boolean {
  return pollFor(fd, POLLIN, ms);
}

/**
 * Writes as much of `data` as fd takes within `ms`, waiting for it to take more when it is full
 * (a nonblocking pipe whose reader is slow). Returns how many bytes were written.
 */
export function writeWithin(fd: number, data: Uint8Array, ms: number): number {
  const l = libc();
  const end = performance.now() + ms;
  let off = 0;
  while (off < data.length) {
    const chunk = data.subarray(off);
    const r = Number(l.write(fd, chunk, chunk.length));
    if (r >= 0) {
      off += r;
      continue;
    }
    const e = errno();
    if (e === EINTR) continue;
    if (e !== EAGAIN) throw syscallError("write", e);
    const left = end - performance.now();
    if (left <= 0 || !pollFor(fd, POLLOUT, left)) break;
  }
  return off;
}

// Waits up to `ms` (forever when undefined) for `events` on fd, restarting on EINTR with the time left.
function pollFor(fd: number, events: number, ms?: number): boolean {
  const l = libc();
  const end = performance.now() + (ms ?? 0);
  for (;;) {
    pollBuf[0] = fd;
    pollBuf[1] = events;
    const left = ms === undefined ? -1 : Math.max(0, Math.ceil(end - performance.now()));
    const r = l.poll(pollBuf, 1, left);
    if (r > 0) return true;
    if (r === 0) return false;
    const e = errno();
    if (e !== EINTR) throw syscallError("poll", e);
  }
}

/** read(2) of at most `max` bytes, restarting on EINTR; an empty array at end of file. */
export function readSome(fd: number, max: number): Uint8Array {
  const l = libc();
  const buf = new Uint8Array(max);
  for (;;) {
    const r = Number(l.read(fd, buf, max));
    if (r >= 0) return buf.subarray(0, r);
    const e = errno();
    if (e !== EINTR) throw syscallError("read", e);
  }
}
