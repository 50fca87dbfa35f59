// Running fork scenarios as subprocesses: each fixture runs in a fresh `bun` process under a
// time limit, so a hang becomes a failing test; the whole process tree is killed on timeout.
import { expect } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { safeSwitches } from "../src/safe/mode.ts";

/**
 * The environment the library's entry points start a process with (src/safe/mode.ts): the three
 * switches of the contract, and the block warm-up thread off where this Bun knows the option
 * (1.4; an unknown BUN_JSC_ variable stops Bun 1.2/1.3 at start). With the three alone a child
 * rarely hangs on 1.4 (seen in full-suite runs: the warm-up thread waking for its idle timeout
 * at the fork, a WTF lock then held forever in the child).
 */
export const SAFE_ENV: Readonly<Record<string, string>> = safeSwitches();

/** The release line of the Bun under test: [major, minor]. */
export const BUN_LINE = Bun.version.split(".").slice(0, 2).map(Number) as [number, number];
/** Bun 1.2 or 1.3 (the Zig runtime), where several behaviours differ from 1.4 (the tests say which). */
export const BEFORE_1_4 = BUN_LINE[0] === 1 && BUN_LINE[1] < 4;

/**
 * How Bun's crash handler ends a process after a crash (a real fault, or SIGSEGV sent with
 * kill): Bun 1.4 re-raises the signal; Bun 1.2 and 1.3 print the same report and then execute a
 * trap instruction, so the process dies by SIGILL (measured on 1.2.23 and 1.3.14, with or
 * without a snapshot: `bun -e 'require("bun:ffi").read.u8(8)'` exits 132). The library reports
 * what the kernel reports.
 */
export const CRASH_SIGNAL: "SIGSEGV" | "SIGILL" = BEFORE_1_4 ? "SIGILL" : "SIGSEGV";
export const CRASH_SIGNO = CRASH_SIGNAL === "SIGILL" ? 4 : 11;

/** The snapshot REPL runs here: node:repl has start() (Bun 1.4; src/repl/start.ts says why not otherwise). */
export const HAVE_REPL = typeof (require("node:repl") as { start?: unknown }).start === "function";
/** Attaching works here (Bun 1.4: an unref()'d Unix listener stays open; src/attach/server.ts). */
export const HAVE_ATTACH = !BEFORE_1_4;

/** Before a command run as root: drops CAP_DAC_OVERRIDE, so that a chmod 000 file denies it as it would deny anyone. */
export const WITHOUT_DAC = process.getuid?.() === 0 ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] : [];

export const FIXTURES = join(import.meta.dir, "fixtures");
export const ROOT = join(import.meta.dir, "..");

/** What a fixture run left behind. */
export interface Run {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The pids of every descendant of `pid`, found through /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "latin1");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Kills a process and all its descendants (a hung snapshot child outlives its killed parent). */
export function killTree(pid: number): void {
  for (const p of [pid, ...descendants(pid)]) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
}

/**
 * Before a hung scenario is killed: where each of its processes waits (gdb, when installed),
 * printed on stderr, so that a hang in CI leaves its backtraces in the log.
 */
export function dumpStacks(pid: number): void {
  if (!Bun.which("gdb")) return;
  for (const p of [pid, ...descendants(pid)]) {
    const r = Bun.spawnSync(["gdb", "-p", String(p), "-batch", "-ex", "thread apply all bt 16"], { stdout: "pipe", stderr: "ignore", timeout: 15_000 });
    const frames = r.stdout.toString().split("\n").filter((l) => /^(Thread|#)/.test(l));
    let comm = "";
    try {
      comm = readFileSync(`/proc/${p}/comm`, "latin1").trim();
    } catch {}
    console.error(`--- hung process ${p} (${comm}):\n${frames.join("\n")}`);
  }
}

/** Options of runFixture. */
export interface RunOptions {
  /** Extra environment; SAFE_ENV is included unless `safe: false`. */
  env?: Record<string, string | undefined>;
  safe?: boolean;
  timeoutMs?: number;
  /** stdout to a file instead of a pipe. */
  stdoutFile?: string;
  /** Bun flags before the script (e.g. --preload). */
  bunArgs?: string[];
  /** A command that runs bun (e.g. setpriv with its options), before it on the command line. */
  wrap?: string[];
}

/** Runs test/fixtures/<name> (or an absolute path) with bun and collects what it did. */
export async function runFixture(name: string, args: string[] = [], o: RunOptions = {}): Promise<Run> {
  const script = name.startsWith("/") ? name : join(FIXTURES, name);
  const env: Record<string, string | undefined> = { ...process.env, ...(o.safe === false ? {} : SAFE_ENV), ...o.env };
  if (o.safe === false) for (const k of Object.keys(SAFE_ENV)) if (!o.env || !(k in o.env)) delete env[k];
  const proc = Bun.spawn([...(o.wrap ?? []), process.execPath, ...(o.bunArgs ?? []), script, ...args], {
    cwd: ROOT,
    env,
    stdin: "ignore",
    stdout: o.stdoutFile ? Bun.file(o.stdoutFile) : "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    dumpStacks(proc.pid);
    killTree(proc.pid);
  }, o.timeoutMs ?? 20_000);
  const [stdout, stderr] = await Promise.all([
    o.stdoutFile ? Promise.resolve("") : new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr).text(),
  ]);
  await proc.exited;
  clearTimeout(timer);
  return { exitCode: proc.signalCode ? null : proc.exitCode, signal: proc.signalCode === null ? null : String(proc.signalCode), stdout, stderr, timedOut };
}

/** The fixture ran to its end without a hang, with this exit code (default 0) or signal. */
export function ended(run: Run, exitCode: number | null = 0, signal: string | null = null): void {
  expect(run.timedOut).toBe(false);
  expect({ exitCode: run.exitCode, signal: run.signal }).toEqual({ exitCode, signal });
}

/**
 * Reads a running process's output until `ready(text so far)` holds (or the output ends); then
 * keeps reading in the background. `all` resolves with the whole output once it ends.
 */
export async function readUntil(stream: ReadableStream<Uint8Array>, ready: (text: string) => boolean): Promise<{ text: string; all: Promise<string> }> {
  const reader = stream.getReader();
  let out = "";
  while (!ready(out)) {
    const { value, done } = await reader.read();
    if (done) break;
    out += Buffer.from(value).toString();
  }
  const text = out;
  const all = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += Buffer.from(value).toString();
    }
  })();
  return { text, all };
}

/** Parses the lines a fixture printed as `key value...` into a map of first word to the rest. */
export function lines(out: string): string[] {
  return out.split("\n").filter((l) => l.length > 0);
}
