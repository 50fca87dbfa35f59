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

/** What /proc/.../syscall says of a thread blocked in a system call. */
export interface Syscall {
  /** The system call's number (x86_64 or arm64 numbering). */
  nr: number;
  /** Its six arguments (as numbers: exact below 2^53, enough for the pointers and flags read here). */
  args: number[];
  /** The thread's stack pointer and program counter. */
  sp: number;
  pc: number;
}

/**
 * Parses a /proc/.../syscall text: "nr a1 .. a6 sp pc" while blocked in a call; undefined when
 * the thread runs ("running") or is blocked outside a call ("-1 sp pc").
 */
export function parseSyscall(text: string): Syscall | undefined {
  const f = text.trim().split(" ");
  if (f.length !== 9) return undefined;
  const n = f.map(Number);
  if (n.some((x) => !Number.isFinite(x)) || n[0]! < 0) return undefined;
  return { nr: n[0]!, args: n.slice(1, 7), sp: n[7]!, pc: n[8]! };
}

/** The system call thread `tid` of this process is blocked in, or undefined. */
export function threadSyscall(tid: number | string): Syscall | undefined {
  try {
    return parseSyscall(readFileSync(`/proc/self/task/${tid}/syscall`, "latin1"));
  } catch {
    return undefined;
  }
}
