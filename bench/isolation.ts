// The child's isolation step (src/fork/isolate.ts) in a process with about 100 open descriptors:
// files, a listening server with keep-alive connections, TCP clients, pipes, subprocess pipes.
// Run with `bun run bench:isolation`. Each round takes a snapshot (trial) whose child times a
// second isolate() over the same descriptors (the first one ran in child setup, untimed here).
import { ensureSafe } from "../src/safe/mode.ts";
ensureSafe();

import { mkdtempSync, openSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolate, isolationReport } from "../src/fork/isolate.ts";
import { isolationFor } from "../src/options.ts";
import { trial } from "../src/index.ts";
import { pipe } from "../src/sys/fd.ts";

const dir = mkdtempSync(join(tmpdir(), "snap-bench-iso-"));
for (let i = 0; i < 40; i++) {
  writeFileSync(join(dir, `f${i}`), "x".repeat(100));
  openSync(join(dir, `f${i}`), i % 2 ? "r" : "r+");
}
for (let i = 0; i < 10; i++) pipe();
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
const sockets = [];
for (let i = 0; i < 15; i++) {
  sockets.push(await Bun.connect({ hostname: "127.0.0.1", port: server.port!, socket: { data() {} } }));
}
const subs = Array.from({ length: 3 }, () => Bun.spawn(["sleep", "30"], { stdout: "pipe", stderr: "pipe" }));
await Bun.sleep(50);
const open = readdirSync("/proc/self/fd").length;

const times: number[] = [];
let report = "";
for (let round = 0; round < 25; round++) {
  const r = trial(() => {
    const t0 = performance.now();
    isolate(isolationFor("blocking", {}), []);
    const ms = performance.now() - t0;
    return { ms, report: JSON.stringify(isolationReport()) };
  });
  if (!r.ok) throw new Error(r.error.message);
  times.push(r.value.ms);
  report = r.value.report;
}
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
console.log(`open descriptors: ${open}`);
console.log(`isolate() in the child: median ${q(0.5).toFixed(3)} ms, p90 ${q(0.9).toFixed(3)} ms, min ${times[0]!.toFixed(3)} ms (${times.length} rounds)`);
console.log(`bar: at most 1 ms with 100 descriptors: ${q(0.5) <= 1 ? "MET" : "MISSED"}`);
console.log(`what it did: ${report}`);
for (const s of subs) s.kill();
for (const s of sockets) s.end();
server.stop(true);
