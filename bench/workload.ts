// A workload for bench/safe-mode.ts: what a running app does, measured. Run as a subprocess,
// with and without the snapshot-safe JSC switches; prints one JSON line (prefixed "RESULT ")
// with throughput (ops/s) of three CPU-and-allocation loops, the pause of a full collection on a
// ~300 MiB heap, and the event loop delay seen by a 1 ms setInterval while the app allocates.
//
//   bun bench/workload.ts [seconds-per-loop=2]
import { heapStats } from "bun:jsc";
import { readdirSync, readFileSync } from "node:fs";

const SECONDS = Number(process.argv[2] ?? 2);
const MiB = 1 << 20;

function vmRssMiB(): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "latin1"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function sorted(xs: number[]): number[] {
  return xs.slice().sort((a, b) => a - b);
}
function median(xs: number[]): number {
  const s = sorted(xs);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
function pct(xs: number[], p: number): number {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

// Runs `op` (one unit of work, returning something to keep it alive) for `seconds`; ops/s.
function throughput(seconds: number, op: (i: number) => unknown): number {
  let sink: unknown;
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = t0;
  while (now < end) {
    for (let k = 0; k < 16; k++) sink = op(n++);
    now = performance.now();
  }
  (globalThis as { __sink?: unknown }).__sink = sink;
  return (n / (now - t0)) * 1000;
}

// 1. JSON: build an order object, stringify it, parse it back, read a field.
function jsonOp(i: number): number {
  const order = {
    id: i,
    customer: { name: `customer-${i % 997}`, email: `c${i % 997}@example.com`, tier: i % 3 ? "basic" : "gold" },
    items: Array.from({ length: 8 }, (_, k) => ({ sku: `SKU-${(i + k) % 5000}`, qty: (k % 4) + 1, price: ((i * 7 + k) % 1000) / 10 })),
    tags: ["web", i % 2 ? "mobile" : "desktop", `batch-${i >> 10}`],
    createdAt: 1_700_000_000_000 + i,
  };
  const back = JSON.parse(JSON.stringify(order));
  return back.items[3].qty + back.id;
}

// 2. Map-heavy: a word-count style aggregation over 2000 keys, plus deletes and iteration.
function mapOp(i: number): number {
  const m = new Map<string, { count: number; sum: number }>();
  for (let k = 0; k < 200; k++) {
    const key = `k${(i * 31 + k * 17) % 2000}`;
    const e = m.get(key);
    if (e) {
      e.count++;
      e.sum += k;
    } else m.set(key, { count: 1, sum: k });
  }
  let total = 0;
  for (const [key, v] of m) {
    total += v.count;
    if (v.sum & 1) m.delete(key);
  }
  return total + m.size;
}

// 3. String building: a small HTML table by concatenation and join, then a scan of it.
function stringOp(i: number): number {
  const rows: string[] = [];
  for (let r = 0; r < 20; r++) {
    let row = "<tr>";
    for (let c = 0; c < 5; c++) row += `<td class="c${c}">${(i + r * 5 + c).toString(36)}</td>`;
    rows.push(`${row}</tr>`);
  }
  const html = `<table>${rows.join("\n")}</table>`;
  return html.indexOf("</td>", html.length >> 1) + html.length;
}

// A retained heap of small objects, arrays and strings (no typed arrays: it is the collector's work).
function buildHeap(targetMiB: number): unknown[] {
  const keep: unknown[] = [];
  const base = vmRssMiB();
  let id = 0;
  while (vmRssMiB() - base < targetMiB) {
    const chunk = new Array(20000);
    for (let i = 0; i < chunk.length; i++, id++) chunk[i] = { id, name: `n-${id}`, vals: [id, id * 2, id * 3], next: null as unknown };
    for (let i = 1; i < chunk.length; i++) chunk[i].next = chunk[i - 1];
    keep.push(chunk);
  }
  return keep;
}

// Full-collection pauses on the retained heap: Bun.gc(true) timed `n` times.
function gcPauses(n: number): number[] {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    Bun.gc(true);
    t.push(performance.now() - t0);
  }
  return t;
}

// Event loop delay while allocating: a 1 ms setInterval records how late each tick is, while the
// app allocates in ~1 ms slices (retaining a sliding window of garbage-to-be), for `seconds`.
function loopDelay(seconds: number): Promise<{ ticks: number; maxMs: number; p99Ms: number; p50Ms: number; over10: number; over50: number; allocatedMiB: number }> {
  return new Promise((resolve) => {
    const delays: number[] = [];
    let last = performance.now();
    const iv = setInterval(() => {
      const now = performance.now();
      delays.push(Math.max(0, now - last - 1));
      last = now;
    }, 1);
    const window: unknown[][] = [];
    let allocated = 0;
    const end = performance.now() + seconds * 1000;
    const slice = () => {
      const t0 = performance.now();
      while (performance.now() - t0 < 1) {
        const a = new Array(1000);
        for (let i = 0; i < a.length; i++) a[i] = { i, s: `v${i}`, arr: [i, i + 1] };
        window.push(a);
        allocated += 1000 * 120; // rough bytes per element
        if (window.length > 2000) window.shift(); // keep ~2000 slices (~240 MiB) live, drop the rest
      }
      if (performance.now() < end) setImmediate(slice);
      else {
        clearInterval(iv);
        resolve({
          ticks: delays.length,
          maxMs: Math.max(...delays),
          p99Ms: pct(delays, 99),
          p50Ms: median(delays),
          over10: delays.filter((d) => d > 10).length,
          over50: delays.filter((d) => d > 50).length,
          allocatedMiB: allocated / MiB,
        });
      }
    };
    setImmediate(slice);
  });
}

// JSC threads that exist only when its concurrent JIT / collector run.
function jscThreads(): string[] {
  const out = new Set<string>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "latin1").trim();
      if (/^(JITWorker|HeapHelper|Collector|Heap Helper)/.test(name)) out.add(name);
    } catch {}
  }
  return [...out];
}

async function main(): Promise<void> {
  const env = ["BUN_JSC_useConcurrentJIT", "BUN_JSC_useConcurrentGC", "BUN_JSC_numberOfGCMarkers"].map((k) => `${k}=${process.env[k] ?? "-"}`).join(" ");
  const t0 = performance.now();
  const json = throughput(SECONDS, jsonOp);
  const threadsAfterJit = jscThreads();
  const map = throughput(SECONDS, mapOp);
  const str = throughput(SECONDS, stringOp);

  Bun.gc(true);
  const rssBefore = vmRssMiB();
  let heap: unknown[] | undefined = buildHeap(300);
  const heapMiB = heapStats().heapSize / MiB;
  const rssMiB = vmRssMiB();
  gcPauses(1); // settle
  const pauses = gcPauses(5);
  const threadsAfterGc = jscThreads();
  heap = undefined;
  void heap;
  Bun.gc(true);

  const delay = await loopDelay(SECONDS * 1.5);
  const result = {
    env,
    jscThreads: [...new Set([...threadsAfterJit, ...threadsAfterGc, ...jscThreads()])],
    opsPerSec: { json, map, string: str },
    gc: { heapMiB, rssMiB, addedMiB: rssMiB - rssBefore, pausesMs: pauses, medianMs: median(pauses), maxMs: Math.max(...pauses) },
    loopDelay: delay,
    wallS: (performance.now() - t0) / 1000,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

await main();
