// `bun run soak [--short]`: thousands of snapshots under load, counting hangs, crashes and errors.
// (a) snapshots inside detached snapshots whose children read files through the work pool;
// (b) a Bun.serve app hammered by a client process, with a CPU-bound process competing for the
// cores, running trials that each call three warm APIs. Every count should be 0. Each part runs
// in its own processes under a time limit; a hang is counted (with backtraces), never waited out.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dumpStacks, killTree, readUntil, SAFE_ENV } from "../test/helpers.ts";

const short = process.argv.includes("--short");
const [batches, per, trials] = short ? [4, 25, 40] : [20, 100, 1000];
const env = { ...process.env, ...SAFE_ENV };
const here = import.meta.dir;

// Runs a process to its end within `ms`; on a hang prints backtraces and kills it.
async function bounded(cmd: string[], ms: number): Promise<{ code: number | null; out: string; hung: boolean }> {
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "inherit" });
  let hung = false;
  const t = setTimeout(() => ((hung = true), dumpStacks(p.pid), killTree(p.pid)), ms);
  const out = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(t);
  return { code: p.exitCode, out, hung };
}

// (a)
const file = join(mkdtempSync(join(tmpdir(), "soak-")), "nested.txt");
writeFileSync(file, "");
const a = await bounded([process.execPath, join(here, "nested.ts"), String(batches), String(per), file], short ? 60_000 : 600_000);
const rows = readFileSync(file, "utf8").split("\n").filter(Boolean);
const nested = { snapshots: rows.filter((r) => !r.startsWith("batch")).length, ok: rows.filter((r) => r === "exit 0").length };
const nestedBad = rows.filter((r) => r !== "exit 0");
console.log(`(a) nested in detached: ${nested.snapshots} of ${batches * per} snapshots, ${nested.ok} ok, ${nestedBad.length} failed${nestedBad.length ? ` (${[...new Set(nestedBad)].join(", ")})` : ""}, hung ${a.hung ? 1 : 0}, exit ${a.code}`);

// (b)
const upstream = Bun.spawn([process.execPath, "-e", 'const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("up") }); console.log(s.port);'], { stdout: "pipe" });
const upPort = Number((await readUntil(upstream.stdout as ReadableStream<Uint8Array>, (t) => t.includes("\n"))).text.trim());
const burner = Bun.spawn([process.execPath, "-e", "const end = Date.now() + 900_000; while (Date.now() < end) {}"], { stdout: "ignore", stderr: "ignore" });
const app = Bun.spawn([process.execPath, join(here, "server.ts"), String(trials), String(upPort)], { env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
const appTimer = setTimeout(() => (dumpStacks(app.pid), killTree(app.pid)), short ? 120_000 : 1_200_000);
const appErrText = new Response(app.stderr).text();
// The app's stdout, a line at a time: its port first, then the trials' counts (while it still serves).
const appLines = (app.stdout as ReadableStream<Uint8Array>).getReader();
let appOut = "";
async function nextLine(): Promise<string | undefined> {
  for (;;) {
    const nl = appOut.indexOf("\n");
    if (nl >= 0) {
      const line = appOut.slice(0, nl);
      appOut = appOut.slice(nl + 1);
      return line;
    }
    const { value, done } = await appLines.read();
    if (done) return undefined;
    appOut += Buffer.from(value).toString();
  }
}
const port = JSON.parse((await nextLine()) ?? '{"port":0}').port as number;
const client = Bun.spawn([process.execPath, join(here, "client.ts"), String(port)], { stdin: "pipe", stdout: "pipe" });
const last = (await nextLine()) ?? "";
client.stdin!.end();
const load = JSON.parse((await new Response(client.stdout).text()).trim() || '{"sent":0,"failed":-1}') as { sent: number; failed: number; first?: string };
app.stdin!.end();
await app.exited;
clearTimeout(appTimer);
const appErr = await appErrText;
killTree(burner.pid);
killTree(upstream.pid);
const b = last.startsWith("{\"trials\"") ? (JSON.parse(last) as Record<string, number | string>) : { trials: 0, hangs: 1, crashes: 0, errors: 0, firstError: "the app did not finish" };
console.log(`(b) trials under load: ${b.trials} of ${trials}, ok ${b.ok}, hangs ${b.hangs}, crashes ${b.crashes}, errors ${b.errors}${b.firstError ? ` (first: ${b.firstError})` : ""}`);
console.log(`    client: ${load.sent} requests, ${load.failed} failed${load.first ? ` (first: ${load.first})` : ""}; app stderr ${appErr.trim() ? JSON.stringify(appErr.trim().slice(0, 300)) : "empty"}`);

const bad = nestedBad.length + (a.hung ? 1 : 0) + Number(b.hangs) + Number(b.crashes) + Number(b.errors) + load.failed + (appErr.trim() ? 1 : 0) + (nested.snapshots < batches * per ? 1 : 0) + (Number(b.trials) < trials ? 1 : 0);
console.log(bad === 0 ? "soak: all counts 0" : `soak: ${bad} problem(s)`);
process.exit(bad === 0 ? 0 : 1);
