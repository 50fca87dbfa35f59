// /proc/<pid>: who another process runs as, its parent, when it started, its command line.
import { readFileSync } from "node:fs";
import { parseCmdline } from "./environ.ts";

// Clock ticks of /proc/<pid>/stat times: USER_HZ, 100 on every Linux architecture we run on.
const USER_HZ = 100;

/** What /proc says about process `pid`; undefined when there is no such process (or it is gone). */
export interface ProcessInfo {
  pid: number;
  /** Real uid (first of the Uid: line). */
  uid: number;
  ppid: number;
  /** When it started, as Date.now() would have said. */
  startedAt: number;
  /** Its command line; empty for a zombie or a kernel thread. */
  argv: string[];
}

/** The fields after the name of a /proc/<pid>/stat text (field 3 `state` is [0]). */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

// Boot time (ms since the epoch) from /proc/stat's btime.
function bootTime(): number {
  return Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"))?.[1] ?? 0) * 1000;
}

/** Reads /proc/<pid>; undefined when there is no such process. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "latin1");
    const f = statFields(readFileSync(`/proc/${pid}/stat`, "latin1"));
    let argv: string[] = [];
    try {
      argv = parseCmdline(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
    } catch {}
    return {
      pid,
      uid: Number(/^Uid:\s+(\d+)/m.exec(status)![1]),
      ppid: Number(f[1]),
      startedAt: bootTime() + (Number(f[19]) / USER_HZ) * 1000,
      argv,
    };
  } catch {
    return undefined;
  }
}

/** The paths of the Unix sockets that are listening in this network namespace (/proc/net/unix). */
export function listeningSocketPaths(): Set<string> {
  const out = new Set<string>();
  let text = "";
  try {
    text = readFileSync("/proc/net/unix", "latin1");
  } catch {}
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = listening.
    if (f.length >= 8 && (parseInt(f[3]!, 16) & 0x10000) !== 0) out.add(f.slice(7).join(" "));
  }
  return out;
}
