// Snapshot-safe mode: JavaScriptCore's collector and JIT threads do not survive a fork (a child
// that collects or compiles can wait forever on them), so a snapshot needs a process started
// with them switched off. These switches are read by JSC at start-up only, hence re-exec.
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { execve } from "./libc.ts";

/** The environment that makes a Bun process snapshot-safe. */
export const SAFE_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_numberOfGCMarkers: "1",
};

// Switches that make a safe process safer where this Bun knows them (an unknown BUN_JSC_
// variable stops Bun at start-up, so each is probed first): without JSC's block warm-up thread
// (JSCWarmUp, Bun 1.4), no helper thread is left that a fork could catch holding a heap lock.
const OPTIONAL_ENV: Readonly<Record<string, string>> = { BUN_JSC_useWarmUpMarkedBlocks: "0" };

// Set while re-executing, so a process whose switches did not take cannot loop.
const REEXEC_MARK = "BUN_SNAPSHOT_REEXEC";

// Threads that exist only when the switches are off (JSC names, /proc/self/task/*/comm).
const UNSAFE_THREADS = ["JITWorker", "HeapHelper", "Collector Thread"];

let initialEnv: Map<string, string> | undefined;

/** The environment this process image started with (/proc/self/environ, not process.env). */
export function startEnv(): Map<string, string> {
  if (!initialEnv) {
    initialEnv = new Map();
    for (const entry of readFileSync("/proc/self/environ", "latin1").split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) initialEnv.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  }
  return initialEnv;
}

/** The names of this process's threads that only exist when JSC runs concurrently. */
export function unsafeThreads(): string[] {
  const found: string[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "latin1").trim();
      if (UNSAFE_THREADS.some((t) => name.startsWith(t))) found.push(name);
    } catch {}
  }
  return found;
}

let verdict: string | null | undefined;

/**
 * Why this process is not snapshot-safe, or null when it is: every switch was in the
 * environment it started with and none of the threads they turn off is running. Checked once.
 */
export function unsafeReason(): string | null {
  if (verdict !== undefined) return verdict;
  const env = startEnv();
  const missing = Object.entries(SAFE_ENV)
    .filter(([k, v]) => env.get(k) !== v)
    .map(([k, v]) => `${k}=${v}`);
  if (missing.length) verdict = `it was started without ${missing.join(" ")}`;
  else {
    const threads = unsafeThreads();
    verdict = threads.length ? `JSC threads are running despite the switches: ${threads.join(", ")}` : null;
  }
  return verdict;
}

/** argv of this process exactly as it was started (/proc/self/cmdline). */
function startArgv(): string[] {
  const parts = readFileSync("/proc/self/cmdline", "latin1").split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

// Whether this Bun starts with `name=value` in its environment (it refuses unknown JSC options).
function bunAccepts(name: string, value: string): boolean {
  const r = Bun.spawnSync([process.execPath, "-e", ""], { env: { ...SAFE_ENV, [name]: value }, stdout: "ignore", stderr: "ignore" });
  return r.exitCode === 0;
}

/** The switches this Bun is started with to be snapshot-safe: SAFE_ENV and the optional ones it knows. */
export function safeSwitches(): Record<string, string> {
  const out: Record<string, string> = { ...SAFE_ENV };
  for (const [k, v] of Object.entries(OPTIONAL_ENV)) if (bunAccepts(k, v)) out[k] = v;
  return out;
}

// The path this process was started through (so the re-executed process keeps its name, e.g.
// "bun" rather than "exe" in ps): argv[0] itself or found on PATH, else /proc/self/exe.
function executableFor(argv0: string, env: Map<string, string>): string {
  const candidates = argv0.includes("/") ? [argv0] : (env.get("PATH") ?? "").split(":").filter(Boolean).map((d) => `${d}/${argv0}`);
  for (const c of candidates) {
    try {
      if (realpathSync(c) === realpathSync("/proc/self/exe")) return c;
    } catch {}
  }
  return "/proc/self/exe";
}

/** An environment list: the given map plus the safe switches and the re-exec mark. */
function safeEnvList(base: Map<string, string> | NodeJS.ProcessEnv): string[] {
  const env = new Map(base instanceof Map ? base : Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined));
  for (const [k, v] of Object.entries(safeSwitches())) env.set(k, v);
  env.set(REEXEC_MARK, "1");
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * Makes this process snapshot-safe before any user code runs: when its start environment lacks
 * the switches, re-executes the same command line (same pid, same descriptors) with them.
 * Returns when the process is already safe, or when a re-exec already happened and still did
 * not make it safe (snapshot() then explains why).
 */
export function ensureSafe(): void {
  if (process.platform !== "linux") return;
  const env = startEnv();
  if (Object.entries(SAFE_ENV).every(([k, v]) => env.get(k) === v)) return;
  if (env.get(REEXEC_MARK) === "1") return;
  const argv = startArgv();
  execve(executableFor(argv[0] ?? "", env), argv, safeEnvList(env));
}

/** Runs `bun <args>` snapshot-safe in place of this process (for `bun-snapshot run`). */
export function execSafe(args: string[]): never {
  const argv0 = startArgv()[0] ?? "bun";
  const path = executableFor(argv0, new Map(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)));
  return execve(path, [path === "/proc/self/exe" ? process.execPath : argv0, ...args], safeEnvList(process.env));
}
