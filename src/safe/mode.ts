// Snapshot-safe mode: JavaScriptCore's collector and JIT threads do not survive a fork (a child
// that collects or compiles can wait forever on them), so a snapshot needs a process started
// with them switched off. These switches are read by JSC at start-up only, hence re-exec.
import { realpathSync } from "node:fs";
import { startArgv, startEnv } from "../proc/environ.ts";
import { threads } from "../proc/threads.ts";
import { OPTIONAL_ENV, SAFE_ENV } from "../switches.ts";
import { reexec, reexecFailure } from "./reexec.ts";

export { SAFE_ENV, startEnv };

// Set while re-executing, so a process whose switches did not take cannot loop.
const REEXEC_MARK = "BUN_SNAPSHOT_REEXEC";

// Threads that exist only when the switches are off (JSC names, /proc/self/task/*/comm).
const UNSAFE_THREADS = ["JITWorker", "HeapHelper", "Collector Thread"];

/** The names of this process's threads that only exist when JSC runs concurrently. */
export function unsafeThreads(): string[] {
  return threads()
    .map((t) => t.name)
    .filter((name) => UNSAFE_THREADS.some((t) => name.startsWith(t)));
}

let verdict: string | null | undefined;

/**
 * Why this process is not snapshot-safe, or null when it is: every switch was in the
 * environment it started with and none of the threads they turn off is running. Checked once.
 */
export function unsafeReason(): string | null {
  if (verdict !== undefined) return verdict;
  const failed = reexecFailure();
  if (failed) return (verdict = failed);
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

// Whether this Bun starts with `name=value` in its environment (it refuses unknown JSC options,
// but only once a VM starts: `bun -e ""` prints the help and exits 0 on Bun 1.2 and 1.3).
function bunAccepts(name: string, value: string): boolean {
  // No bunfig (its preloads would run once more) and no .env: only the option is tried.
  const r = Bun.spawnSync([process.execPath, "--config=/dev/null", "--no-env-file", "-e", "0"], {
    cwd: "/",
    env: { ...SAFE_ENV, [name]: value },
    stdout: "ignore",
    stderr: "ignore",
  });
  return r.exitCode === 0;
}

let switches: Readonly<Record<string, string>> | undefined;

/**
 * The switches this Bun is started with to be snapshot-safe: SAFE_ENV and the optional ones it
 * knows (probed once per process: one `bun -e 0` per optional switch).
 */
export function safeSwitches(): Record<string, string> {
  if (!switches) {
    const out: Record<string, string> = { ...SAFE_ENV };
    for (const [k, v] of Object.entries(OPTIONAL_ENV)) if (bunAccepts(k, v)) out[k] = v;
    switches = out;
  }
  return { ...switches };
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
function safeEnvList(base: Map<string, string>, extra: Record<string, string> = {}): string[] {
  const env = new Map([...base, ...Object.entries(extra)]);
  for (const [k, v] of Object.entries(safeSwitches())) env.set(k, v);
  env.set(REEXEC_MARK, "1");
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * Makes this process snapshot-safe before any user code runs: when its start environment lacks
 * the switches, re-executes the same command line (same pid, same descriptors, the environment
 * it was started with: never what .env files added) with them. Returns when the process is
 * already safe, when a re-exec already happened and still did not make it safe, or when the
 * re-exec failed (said once on stderr); snapshot() then explains why.
 */
export function ensureSafe(): void {
  if (process.platform !== "linux") return;
  const env = startEnv();
  if (Object.entries(SAFE_ENV).every(([k, v]) => env.get(k) === v)) return;
  if (env.get(REEXEC_MARK) === "1") return;
  const argv = startArgv();
  reexec(executableFor(argv[0] ?? "", env), argv, safeEnvList(env));
}

/**
 * Runs `bun <args>` snapshot-safe in place of this process (for `bun-snapshot run`), with the
 * environment this process was started with and every descriptor it inherited. Returns only
 * when the exec failed (said once on stderr).
 */
export function execSafe(args: string[], extra: Record<string, string> = {}): void {
  const env = startEnv();
  const argv0 = startArgv()[0] ?? "bun";
  const path = executableFor(argv0, env);
  reexec(path, [path === "/proc/self/exe" ? process.execPath : argv0, ...args], safeEnvList(env, extra));
}
