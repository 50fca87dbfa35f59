// Attach scenarios: starting an app (or any process) and running the CLI against it, each bounded.
import { join } from "node:path";
import { killTree, readUntil, ROOT, SAFE_ENV } from "./helpers.ts";

export const CLI = join(ROOT, "src/cli/main.ts");
const started: number[] = [];

/** Kills every process the scenarios of this file started (afterAll). */
export function killStarted(): void {
  started.forEach(killTree);
}

/** A process with a piped stdin (closing it ends the fixtures); resolves at its first line. */
export async function start(cmd: string[], env: Record<string, string | undefined> = {}, safe = true) {
  const base: Record<string, string | undefined> = { ...process.env, ...(safe ? SAFE_ENV : {}), ...env };
  if (!safe) for (const k of Object.keys(SAFE_ENV)) if (!(k in env)) delete base[k];
  const p = Bun.spawn(cmd, { cwd: ROOT, env: base, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  started.push(p.pid);
  const { text, all } = await readUntil(p.stdout as ReadableStream<Uint8Array>, (t) => t.includes("\n"));
  return { p, first: text.split("\n")[0]!, rest: all, stop: async () => (p.stdin!.end(), await p.exited, await all) };
}

/** The attach app of test/fixtures (a server with state), its pid and port. */
export async function startApp(env: Record<string, string | undefined> = {}) {
  const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")], env);
  const [, pid, port] = app.first.split(" ").map(Number);
  return { ...app, pid: pid!, port: port! };
}

/** Runs `bun-snapshot <args>` to its end (killed after `timeoutMs`): status and output. */
export async function cli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 20_000) {
  const r = Bun.spawn([process.execPath, CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => killTree(r.pid), timeoutMs);
  const [out, err] = [await new Response(r.stdout).text(), await new Response(r.stderr).text()];
  await r.exited;
  clearTimeout(timer);
  return { code: r.exitCode, out: out.trim(), err: err.trim() };
}

/** Resolves once `cond()` holds, checking every 20 ms; rejects after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await Bun.sleep(20);
  }
}
