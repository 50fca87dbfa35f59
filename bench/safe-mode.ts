// What the snapshot-safe JSC switches (BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0
// BUN_JSC_numberOfGCMarkers=1) cost a running app: bench/workload.ts run as a subprocess with
// and without them, alternately, and compared.
//
//   bun bench/safe-mode.ts [runs-per-mode=2] [seconds-per-loop=2]
import { readFileSync } from "node:fs";
import { join } from "node:path";

const RUNS = Number(process.argv[2] ?? 2);
const SECONDS = Number(process.argv[3] ?? 2);
const WORKLOAD = join(import.meta.dir, "workload.ts");
const SWITCHES = { BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_numberOfGCMarkers: "1" };

interface Result {
  env: string;
  jscThreads: string[];
  opsPerSec: { json: number; map: number; string: number };
  gc: { heapMiB: number; rssMiB: number; addedMiB: number; pausesMs: number[]; medianMs: number; maxMs: number };
  loopDelay: { ticks: number; maxMs: number; p99Ms: number; p50Ms: number; over10: number; over50: number; allocatedMiB: number };
  wallS: number;
}

function run(safe: boolean): Result {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // This script may itself run snapshot-safe (e.g. under `bun-snapshot run`): set both modes explicitly.
  for (const k of Object.keys(SWITCHES)) delete env[k];
  delete env.BUN_SNAPSHOT_REEXEC;
  if (safe) Object.assign(env, SWITCHES);
  const p = Bun.spawnSync([process.execPath, WORKLOAD, String(SECONDS)], { env, stdout: "pipe", stderr: "pipe", timeout: 180_000, killSignal: "SIGKILL" });
  const out = p.stdout.toString();
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  if (p.exitCode !== 0 || !line) throw new Error(`workload (${safe ? "safe" : "default"}) failed: ${p.exitCode ?? p.signalCode}\n${out}\n${p.stderr.toString()}`);
  return JSON.parse(line.slice(7)) as Result;
}

const max = (xs: number[]) => Math.max(...xs);
function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
const k = (x: number) => (x >= 1e4 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const f = (x: number, d = 1) => x.toFixed(d);
const log = (s = "") => process.stdout.write(`${s}\n`);

function loadavg(): string {
  try {
    return readFileSync("/proc/loadavg", "latin1").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

const t0 = performance.now();
log(`snapshot-safe mode cost: Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, ${RUNS} runs per mode (alternating), ${SECONDS} s per throughput loop; load average ${loadavg()}`);
const safe: Result[] = [];
const dflt: Result[] = [];
for (let i = 0; i < RUNS; i++) {
  process.stderr.write(`  .. run ${i + 1}/${RUNS}: default\n`);
  dflt.push(run(false));
  process.stderr.write(`  .. run ${i + 1}/${RUNS}: snapshot-safe\n`);
  safe.push(run(true));
}

log();
log("Per run:");
log(`${"mode".padEnd(14)} ${"JSON op/s".padStart(10)} ${"Map op/s".padStart(9)} ${"str op/s".padStart(9)} ${"GC med ms".padStart(10)} ${"GC max ms".padStart(10)} ${"loop max".padStart(9)} ${"loop p99".padStart(9)} ${">10ms".padStart(6)} ${">50ms".padStart(6)}  JSC threads seen`);
for (const [name, rs] of [["default", dflt], ["snapshot-safe", safe]] as const) {
  for (const r of rs) {
    log(
      `${name.padEnd(14)} ${k(r.opsPerSec.json).padStart(10)} ${k(r.opsPerSec.map).padStart(9)} ${k(r.opsPerSec.string).padStart(9)} ${f(r.gc.medianMs).padStart(10)} ${f(r.gc.maxMs).padStart(10)} ${f(r.loopDelay.maxMs).padStart(9)} ${f(r.loopDelay.p99Ms).padStart(9)} ${String(r.loopDelay.over10).padStart(6)} ${String(r.loopDelay.over50).padStart(6)}  ${r.jscThreads.join(", ") || "none"}`,
    );
  }
}

// Throughput: the best run of each mode (interference only ever slows a run down).
log();
log("Summary (safe vs default; throughput: best run of each mode; pauses: all samples):");
log(`${"metric".padEnd(34)} ${"default".padStart(10)} ${"safe".padStart(10)} ${"safe/default".padStart(13)}`);
const row = (name: string, d: number, s: number, fmt: (x: number) => string, better: "higher" | "lower") => {
  const ratio = s / d;
  if (!Number.isFinite(ratio) || Number.isNaN(ratio)) {
    log(`${name.padEnd(34)} ${fmt(d).padStart(10)} ${fmt(s).padStart(10)} ${"n/a".padStart(13)}`);
    return;
  }
  const verdict =
    better === "higher" ? `${f(Math.abs(ratio - 1) * 100, 1)}% ${ratio >= 1 ? "faster" : "slower"}` : ratio <= 1 ? "shorter with the switches" : "longer with the switches";
  log(`${name.padEnd(34)} ${fmt(d).padStart(10)} ${fmt(s).padStart(10)} ${`${f(ratio, 3)}x`.padStart(13)}  ${verdict}`);
};
for (const key of ["json", "map", "string"] as const) {
  row(`${key} ops/s`, max(dflt.map((r) => r.opsPerSec[key])), max(safe.map((r) => r.opsPerSec[key])), k, "higher");
}
const geo = (rs: Result[]) => Math.cbrt(max(rs.map((r) => r.opsPerSec.json)) * max(rs.map((r) => r.opsPerSec.map)) * max(rs.map((r) => r.opsPerSec.string)));
row("throughput, geometric mean", geo(dflt), geo(safe), k, "higher");
const pauses = (rs: Result[]) => rs.flatMap((r) => r.gc.pausesMs);
row("Bun.gc(true) pause, median ms", median(pauses(dflt)), median(pauses(safe)), (x) => f(x), "lower");
row("Bun.gc(true) pause, max ms", max(pauses(dflt)), max(pauses(safe)), (x) => f(x), "lower");
row("event loop delay, max ms", max(dflt.map((r) => r.loopDelay.maxMs)), max(safe.map((r) => r.loopDelay.maxMs)), (x) => f(x), "lower");
row("event loop delay, p99 ms (median)", median(dflt.map((r) => r.loopDelay.p99Ms)), median(safe.map((r) => r.loopDelay.p99Ms)), (x) => f(x), "lower");
row("ticks delayed >50 ms (sum)", dflt.reduce((a, r) => a + r.loopDelay.over50, 0), safe.reduce((a, r) => a + r.loopDelay.over50, 0), (x) => String(x), "lower");
log();
log(`  GC pause: Bun.gc(true) on a retained heap of ~${f(median(safe.map((r) => r.gc.addedMiB)), 0)} MiB RSS of small objects (JSC heapSize ~${f(median([...safe, ...dflt].map((r) => r.gc.heapMiB)), 0)} MiB), 5 samples per run`);
log(`  loop delay: lateness of a setInterval(1 ms) while the app allocates in ~1 ms slices (~${f(median(safe.map((r) => r.loopDelay.allocatedMiB)), 0)} MiB per run, ~240 MiB kept live)`);
log(`  load average at the end: ${loadavg()} (other processes on these ${navigator.hardwareConcurrency} cores skew both modes)`);
log(`done in ${f((performance.now() - t0) / 1000)} s`);
