// /proc/self/fd and /proc/self/fdinfo: this process's descriptors, what each names, their state.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** One open descriptor and what its /proc link says ("socket:[123]", "anon_inode:[eventpoll]", a path). */
export interface FdEntry {
  fd: number;
  link: string;
}

/**
 * The descriptors open now, with their links. The listing's own directory handle is gone by the
 * time its link is read, so it is never among them.
 */
export function listFds(): FdEntry[] {
  const out: FdEntry[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      out.push({ fd: Number(name), link: readlinkSync(`/proc/self/fd/${name}`) });
    } catch {}
  }
  return out;
}

/** The numbers of the descriptors open now (no links read). */
export function fdNumbers(): number[] {
  return readdirSync("/proc/self/fd").map(Number);
}

/** What /proc/self/fd/N links to now. */
export function fdLink(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

/** /proc/self/fdinfo/N as text. */
export function fdinfo(fd: number): string {
  return readFileSync(`/proc/self/fdinfo/${fd}`, "latin1");
}

/** A numeric line of an fdinfo text ("flags" is octal, "eventfd-count" hex); 0 when absent. */
export function fdinfoField(info: string, name: string, radix = 10): number {
  const m = new RegExp(`^${name}:\\s*([0-9a-fA-F]+)`, "m").exec(info);
  return m ? parseInt(m[1]!, radix) : 0;
}

/** A registration of an epoll instance, as its fdinfo shows it (events and data in hex). */
export interface Registration {
  tfd: number;
  events: string;
  data: string;
  /** The inode of the file it was made for, when the kernel says (hex). */
  ino?: string;
}

const REGISTRATION = /^tfd:\s*(\d+)\s+events:\s*([0-9a-f]+)\s+data:\s*([0-9a-f]+)(?:.*?ino:([0-9a-f]+))?/gm;

/** The registrations listed in an epoll instance's fdinfo text. */
export function parseRegistrations(info: string): Registration[] {
  const out: Registration[] = [];
  for (const m of info.matchAll(REGISTRATION)) {
    const r: Registration = { tfd: Number(m[1]), events: m[2]!, data: m[3]! };
    if (m[4] !== undefined) r.ino = m[4];
    out.push(r);
  }
  return out;
}

/** The descriptors of this process's epoll instances. */
export function epollFds(): number[] {
  return listFds()
    .filter((e) => e.link === "anon_inode:[eventpoll]")
    .map((e) => e.fd);
}
