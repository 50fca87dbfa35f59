// Keeping the parent untouched: after fork the child holds the parent's kernel objects (its
// epoll instances, eventfds, timerfds, file descriptions, sockets, pipes), so whatever the child
// does to them would reach the parent. Before any user code the child replaces them, by kind, at
// the same descriptor numbers (libuv's uv_loop_fork is the model for the event loop).
//
// Order matters: wake-up fds, files, sockets and pipes are replaced first, then each epoll
// instance is rebuilt from the registrations read at the fork, so that the new instance
// watches the child's objects, never the parent's. (About 300 lines: one pass over the
// descriptor table, every kind in one place, so that the order above stays visible.)
import { fstatSync, writeSync } from "node:fs";
import { protectDatabases } from "../bun-internals/sqlite.ts";
import { messages } from "../errors.ts";
import type { Isolation } from "../options.ts";
import { epollFds, fdinfo, fdinfoField, fdLink, fdNumbers, parseRegistrations, type Registration } from "../proc/fds.ts";
import { epollCreate, epollAdd, eventfd, timerfd } from "../sys/epoll.ts";
import {
  close, dup3, fdFlags, offset, open, pipe, readAt, seek,
  O_ACCMODE, O_CLOEXEC, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK,
} from "../sys/fd.ts";
import { isListening, quietListener, socketPair } from "../sys/socket.ts";

/** What isolate() did, for tests and `doctor`. */
export interface IsolationReport {
  epolls: number;
  registrations: number;
  wakeups: number;
  files: number;
  databases: string[];
  /** Database files the child could not reopen read-only: every statement on them is refused. */
  unsafeDatabases: string[];
  /** Descriptors the child could not make its own, closed off (reads end, writes fail). */
  deadEnds: number[];
  cut: number;
  listenersClosed: number;
  kept: number[];
  failed: { fd: number; what: string; error: string }[];
}

const EPOLLEXCLUSIVE = 1 << 28;
const EPOLLIN = 1;
const SQLITE_MAGIC = "SQLite format 3\0";

/** What the last isolation in this process did (a function: called on first read, by isolationReport()). */
export const reports: { last?: IsolationReport | (() => IsolationReport) } = {};

/** What the last isolation in this process did. */
export function isolationReport(): IsolationReport | undefined {
  if (typeof reports.last === "function") reports.last = reports.last();
  return reports.last;
}

// Puts `fresh` at descriptor `fd` with fd's close-on-exec flag, and closes `fresh`.
function replace(fd: number, fresh: number, flags: number): void {
  dup3(fresh, fd, flags & O_CLOEXEC);
  close(fresh);
}

/**
 * In the child, before user code: takes the parent's kernel objects out of the child's reach.
 * `keep` lists descriptors left alone (the channel to the parent); 0, 1 and 2, and any other
 * descriptor of the same files, are always kept (REPLs need them; never repositioned).
 * `atFork`: every epoll registration of the process as the parent read it right before the
 * fork; each epoll instance is rebuilt from those (without it, from what the instance says now).
 * With `deaf` (a trial, whose parent runs on meanwhile) the child's event loop no longer watches
 * stdin for input (what is typed goes to the parent), and its "closed" listeners stay open but
 * unwatched (never accepted on: connections wait for the parent) so that their address still
 * reads right (`server.port`).
 */
export function isolate(o: Isolation, keep: number[] = [], atFork?: EpollRegistration[], deaf = false): IsolationReport {
  const r: IsolationReport = { epolls: 0, registrations: 0, wakeups: 0, files: 0, databases: [], unsafeDatabases: [], deadEnds: [], cut: 0, listenersClosed: 0, kept: [], failed: [] };
  const epolls: { fd: number; info: string; flags: number }[] = [];
  let deadSocket = -1;
  let quiet = -1;
  let deadReadEnd = -1;
  let deadWriteEnd = -1;
  const skip = new Set([0, 1, 2, ...keep]);
  // Bun writes stdout and stderr through duplicates of 1 and 2: those stay shared too.
  const stdio = new Set<string>();
  for (const fd of [0, 1, 2]) {
    try {
      const st = fstatSync(fd);
      stdio.add(`${st.dev}:${st.ino}`);
    } catch {}
  }
  // Every inherited descriptor is listed, with its type, before anything is created, so that the
  // descriptors made here (and the directory handle of the listing) are never taken for them.
  const inherited: { fd: number; type: number }[] = [];
  // Files whose input the rebuilt event loop no longer watches (with `deaf`).
  const unwatched = new Set<number>();
  const inodeAtFork = new Map<number, number>();
  for (const fd of fdNumbers()) {
    if (skip.has(fd)) continue;
    try {
      const st = fstatSync(fd);
      inodeAtFork.set(fd, Number(st.ino));
      if (stdio.has(`${st.dev}:${st.ino}`)) r.kept.push(fd);
      else inherited.push({ fd, type: st.mode & S_IFMT });
    } catch {} // the directory handle of the listing itself, already closed
  }
  // SQLite databases open for writing, by path, so that their -wal and -journal files are known too.
  const databases = new Map<number, string>();
  if (o.databases !== "writable")
    for (const { fd, type } of inherited) if (type === S_IFREG && isSqlite(fd)) databases.set(fd, fdLink(fd));
  const dbPaths = new Set(databases.values());
  const told: string[] = [];
  for (const { fd, type } of inherited) {
    let what = "";
    try {
      // Sockets need no flags: their replacement is dead, and close-on-exec for it is harmless.
      const flags = type === S_IFSOCK ? O_CLOEXEC : fdFlags(fd);
      if (type === 0) {
        // Anonymous inodes: the kind is in the link; the state in fdinfo.
        what = fdLink(fd);
        if (what === "anon_inode:[eventpoll]") epolls.push({ fd, info: fdinfo(fd), flags });
        else if (what === "anon_inode:[eventfd]") {
          const info = fdinfo(fd);
          const efdFlags = (flags & (O_CLOEXEC | O_NONBLOCK)) | (fdinfoField(info, "eventfd-semaphore") ? 1 : 0);
          replace(fd, eventfd(fdinfoField(info, "eventfd-count", 16), efdFlags), flags);
          r.wakeups++;
        } else if (what === "anon_inode:[timerfd]") {
          const info = fdinfo(fd);
          const tv = /it_value: \((\d+), (\d+)\)/.exec(info);
          const ti = /it_interval: \((\d+), (\d+)\)/.exec(info);
          const value: [number, number] = tv ? [Number(tv[1]), Number(tv[2])] : [0, 0];
          const interval: [number, number] = ti ? [Number(ti[1]), Number(ti[2])] : [0, 0];
          replace(fd, timerfd(fdinfoField(info, "clockid"), flags & (O_CLOEXEC | O_NONBLOCK), value, interval), flags);
          r.wakeups++;
        } else r.kept.push(fd);
      } else if (type === S_IFSOCK) {
        what = "socket";
        if (isListening(fd)) {
          if (o.listeners !== "closed") continue;
          if (deaf) {
            unwatched.add(inodeAtFork.get(fd)!);
            r.listenersClosed++;
            continue;
          }
          // A listener nobody can reach, not a dead connection: a dead one is always readable,
          // and the loop would spin on accept() failing (seen: an attached copy at 100% CPU).
          if (quiet < 0) quiet = quietListener();
          dup3(quiet, fd, flags & O_CLOEXEC);
          r.listenersClosed++;
        } else if (o.connections !== "shared") {
          if (deadSocket < 0) deadSocket = deadSocketEnd();
          dup3(deadSocket, fd, flags & O_CLOEXEC);
          r.cut++;
        }
      } else if (type === S_IFIFO) {
        what = "pipe";
        if (o.connections === "shared") continue;
        const writes = (flags & O_ACCMODE) === O_WRONLY;
        if (writes && deadWriteEnd < 0) deadWriteEnd = deadPipeEnd(true);
        if (!writes && deadReadEnd < 0) deadReadEnd = deadPipeEnd(false);
        dup3(writes ? deadWriteEnd : deadReadEnd, fd, flags & O_CLOEXEC);
        r.cut++;
      } else if (type === S_IFREG || type === S_IFDIR) {
        what = "file";
        const link = fdLink(fd);
        const db = databases.get(fd) ?? companionOf(link, dbPaths);
        if (db === undefined && o.files === "shared") continue;
        try {
          // "copy": the parent's connection only reads (its database copied on first use), and
          // in WAL mode reading takes the -shm index's locks, which a read-only reopen refuses.
          reopenFile(fd, flags, db !== undefined && o.databases !== "copy");
        } catch (e) {
          // Fail closed: a file the child cannot reopen is not left shared with the parent.
          if (deadSocket < 0) deadSocket = deadSocketEnd();
          dup3(deadSocket, fd, flags & O_CLOEXEC);
          r.deadEnds.push(fd);
          told.push(`fd ${fd} ${link}: ${e instanceof Error ? e.message : String(e)}`);
          if (db !== undefined && !r.unsafeDatabases.includes(db)) r.unsafeDatabases.push(db);
          continue;
        }
        if (databases.has(fd)) r.databases.push(link);
        else r.files++;
      } else r.kept.push(fd); // character and block devices: no offset of their own to give
    } catch (e) {
      r.failed.push({ fd, what, error: e instanceof Error ? e.message : String(e) });
    }
  }
  const stdin = deaf ? stdinInode() : undefined;
  if (stdin !== undefined) unwatched.add(stdin);
  for (const ep of epolls) {
    try {
      r.registrations += rebuildEpoll(ep.fd, atFork ? atFork.filter((b) => b.epfd === ep.fd) : parseRegistrations(ep.info), ep.flags, inodeAtFork, unwatched);
      r.epolls++;
    } catch (e) {
      r.failed.push({ fd: ep.fd, what: "epoll", error: e instanceof Error ? e.message : String(e) });
    }
  }
  for (const fd of [deadSocket, quiet, deadReadEnd, deadWriteEnd]) if (fd >= 0) close(fd);
  if (r.databases.length || r.unsafeDatabases.length) protectDatabases(r.unsafeDatabases, o.databases === "copy");
  for (const f of r.failed) told.push(`fd ${f.fd} (${f.what || "unknown"}): ${f.error}`);
  if (told.length) {
    try {
      writeSync(2, messages.isolationFailed(told) + "\n");
    } catch {}
  }
  reports.last = r;
  return r;
}

// Gives the file at `fd` a description of its own at the same offset; read-only for an SQLite
// database or its -wal or -journal file (under the "readonly" policy). Throws when it cannot.
function reopenFile(fd: number, flags: number, readonly: boolean): void {
  let mode = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (readonly) mode = (mode & ~O_ACCMODE) | O_RDONLY;
  const fresh = open(`/proc/self/fd/${fd}`, mode);
  seek(fresh, offset(fd));
  replace(fd, fresh, flags);
}

// The database whose -wal or -journal file `link` is, if it is one of `dbs`.
function companionOf(link: string, dbs: Set<string>): string | undefined {
  const m = /^(.*)-(wal|journal)$/.exec(link);
  return m && dbs.has(m[1]!) ? m[1] : undefined;
}

// One end of a socket pair whose other end is closed: reads see EOF, writes fail (EPIPE).
function deadSocketEnd(): number {
  const [a, b] = socketPair();
  close(b);
  return a;
}

// The read end of a pipe with no writer (EOF), or the write end of one with no reader (EPIPE).
function deadPipeEnd(writeEnd: boolean): number {
  const [rd, wr] = pipe();
  close(writeEnd ? rd : wr);
  return writeEnd ? wr : rd;
}

// A new epoll instance with the registrations `regs` the one at `fd` had at the fork, put in its
// place. Why the ones read at the fork and not the instance's own list now: the instance is
// still shared with the parent, which goes on changing it (a detached parent registers its
// watcher of the exit pipe on a descriptor number that names another file in the child, and
// removes a handed-over connection); copied, such a registration reports events to an object of
// the parent's heap that is garbage in the child (measured: the grandchild of a detached
// snapshot crashed in its first turn of the event loop, 11 of 60). And a registration stays only
// if its number named, at the fork, the file it was made for (the `ino` of its fdinfo line): a
// registration outlives a close while another descriptor shares the file, and its number may
// name another file since.
function rebuildEpoll(fd: number, regs: Registration[], flags: number, inodeAtFork: Map<number, number>, unwatched: Set<number>): number {
  const fresh = epollCreate();
  let n = 0;
  for (const reg of regs) {
    const events = parseInt(reg.events, 16);
    const data = BigInt(`0x${reg.data}`);
    if (reg.ino !== undefined && parseInt(reg.ino, 16) !== (inodeAtFork.get(reg.tfd) ?? currentInode(reg.tfd))) continue;
    if (events & EPOLLIN && unwatched.has(currentInode(reg.tfd))) continue;
    let err = epollAdd(fresh, reg.tfd, events, data);
    if (err === 22 && events & EPOLLEXCLUSIVE) err = epollAdd(fresh, reg.tfd, events & ~EPOLLEXCLUSIVE, data);
    if (err === 0) n++;
  }
  replace(fd, fresh, flags);
  return n;
}

// The inode of stdin, unless it is a regular file or there is none (nothing to be deaf to).
function stdinInode(): number | undefined {
  try {
    const st = fstatSync(0);
    return (st.mode & S_IFMT) === S_IFREG ? undefined : Number(st.ino);
  } catch {
    return undefined;
  }
}

// The inode a descriptor names now, or -1.
function currentInode(fd: number): number {
  try {
    return Number(fstatSync(fd).ino);
  } catch {
    return -1;
  }
}

/** A registration of one epoll instance of this process, read before the fork. */
export interface EpollRegistration extends Registration {
  epfd: number;
}

/** In the parent, right before a fork: every registration of every epoll instance of this process. */
export function allRegistrations(): EpollRegistration[] {
  const out: EpollRegistration[] = [];
  for (const epfd of epollFds()) for (const r of parseRegistrations(fdinfo(epfd))) out.push({ ...r, epfd });
  return out;
}

// Whether the file open at `fd` for writing starts with the SQLite header (read through the
// inherited descriptor, whose offset pread leaves alone).
function isSqlite(fd: number): boolean {
  if ((fdFlags(fd) & O_ACCMODE) !== O_RDWR) return false;
  return Buffer.from(readAt(fd, 16, 0)).toString("latin1") === SQLITE_MAGIC;
}
