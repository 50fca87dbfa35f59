// /proc/self/task: this process's threads, their names and scheduling states.
import { readdirSync, readFileSync } from "node:fs";

/** A thread of this process. */
export interface ThreadInfo {
  tid: number;
  /** The name (comm), e.g. "Bun Pool 0", "HTTP Client", "JITWorker". */
  name: string;
  /** The state letter of /proc/.../stat: R running, S sleeping, D uninterruptible, ... */
  state: string;
}

/** The name and state of a /proc/.../stat text (the name may hold spaces and parentheses). */
export function parseStat(stat: string): { name: string; state: string } {
  const close = stat.lastIndexOf(")");
  return { name: stat.slice(stat.indexOf("(") + 1, close), state: stat[close + 2] ?? "?" };
}

/** The threads of this process, one read of its stat each. */
export function threads(): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      out.push({ tid: Number(t), ...parseStat(readFileSync(`/proc/self/task/${t}/stat`, "latin1")) });
    } catch {}
  }
  return out;
}

/** How many times the calling thread has given up the CPU to wait (voluntary_ctxt_switches), or -1. */
export function voluntarySwitches(): number {
  try {
    const m = /^voluntary_ctxt_switches:\s*(\d+)$/m.exec(readFileSync("/proc/thread-self/status", "latin1"));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}
