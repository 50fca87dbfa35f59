// /proc/self/task: this process's threads, their names and scheduling states.
import { readdirSync, readFileSync } from "node:fs";
import { compiledFork } from "../sys/ffi.ts";

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

// What the native fork's C reads into (snap_threads, snap_syscall in src/sys/fork-c.ts). The
// tids are made ints: Bun's FFI passes a double-tagged number (what a Float64Array read gives)
// to an i32 argument wrongly (measured on 1.4.5), and tids go on to parkThread and kill.
const CAP = 1024;
const found = new Float64Array(1 + 3 * CAP);
const names = Buffer.alloc(CAP * 16);
const call = new Float64Array(9);

/**
 * The threads of this process, one read of its stat each: in C once the native fork is compiled
 * (the first snapshot compiles it; one call, where node:fs's reads wrote ~40 pages after each
 * fork, each a page fault), else through node:fs.
 */
export function threads(): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  const c = compiledFork();
  if (c && c.snap_threads(found, CAP, names, names.length) >= 0) {
    for (let i = 0; i < found[0]!; i++) {
      const at = found[3 + 3 * i]!;
      out.push({ tid: found[1 + 3 * i]! | 0, name: names.toString("latin1", at, names.indexOf(0, at)), state: String.fromCharCode(found[2 + 3 * i]!) });
    }
    return out;
  }
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
  const c = compiledFork();
  if (c) {
    const r = c.snap_syscall(Number(tid) | 0, call); // an int: see src/fork/native.ts enterPlainly
    if (r < 0) return undefined;
    return r === 9 ? { nr: call[0]!, args: [call[1]!, call[2]!, call[3]!, call[4]!, call[5]!, call[6]!], sp: call[7]!, pc: call[8]! } : undefined;
  }
  try {
    return parseSyscall(readFileSync(`/proc/self/task/${tid}/syscall`, "latin1"));
  } catch {
    return undefined;
  }
}
