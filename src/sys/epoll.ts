// The event loop's kernel objects: epoll instances, eventfds, timerfds.
import { check, errno, libc } from "./ffi.ts";
import { O_CLOEXEC } from "./fd.ts";

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
// struct epoll_event is packed (12 bytes) on x86_64 and naturally aligned (16) elsewhere.
const EV_SIZE = process.arch === "x64" ? 12 : 16;
const evBuf = new Uint8Array(16);
const evView = new DataView(evBuf.buffer);

/** epoll_create1(EPOLL_CLOEXEC). */
export function epollCreate(): number {
  return check("epoll_create1", libc().epoll_create1(O_CLOEXEC));
}

/** epoll_ctl(ADD) of `fd` with the given event mask and 64-bit data; returns the errno (0 on success). */
export function epollAdd(epfd: number, fd: number, events: number, data: bigint): number {
  evView.setUint32(0, events >>> 0, true);
  evView.setBigUint64(EV_SIZE === 12 ? 4 : 8, data, true);
  return libc().epoll_ctl(epfd, EPOLL_CTL_ADD, fd, evBuf) === -1 ? errno() : 0;
}

/** epoll_ctl(DEL) of `fd`; returns the errno (0 on success, ENOENT when it was not registered). */
export function epollDel(epfd: number, fd: number): number {
  return libc().epoll_ctl(epfd, EPOLL_CTL_DEL, fd, evBuf) === -1 ? errno() : 0;
}

/** eventfd(2) with an initial count and flags (EFD_NONBLOCK, EFD_CLOEXEC, EFD_SEMAPHORE). */
export function eventfd(count: number, flags: number): number {
  return check("eventfd", libc().eventfd(count, flags));
}

/** A timerfd on `clock` with `flags`, armed with the given value and interval (seconds, nanoseconds). */
export function timerfd(clock: number, flags: number, value: [number, number], interval: [number, number]): number {
  const fd = check("timerfd_create", libc().timerfd_create(clock, flags));
  const spec = new BigInt64Array([BigInt(interval[0]), BigInt(interval[1]), BigInt(value[0]), BigInt(value[1])]);
  check("timerfd_settime", libc().timerfd_settime(fd, 0, spec, null));
  return fd;
}
