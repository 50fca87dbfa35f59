// The pause a live server sees when someone attaches: an app holding about 256 MiB of JS state
// measures the largest gap of its own 1 ms interval around each `bun-snapshot attach --eval`,
// next to the time the attach spent in the fork. Run with `bun run bench:attach`.
import { ensureSafe } from "../src/safe/mode.ts";
ensureSafe();

import { join } from "node:path";
import { attachForkTimes } from "../src/attach/server.ts";
import { expose } from "../src/attach/preload.ts";

const MiB = 1 << 20;
const state: { rows: { id: number; name: string; tags: number[] }[] } = { rows: [] };
while (Number(/VmRSS:\s+(\d+)/.exec(await Bun.file("/proc/self/status").text())![1]) * 1024 < 256 * MiB) {
  for (let i = 0; i < 50_000; i++) state.rows.push({ id: state.rows.length, name: `row ${state.rows.length}`, tags: [i, i + 1] });
}
expose({ state });
const rss = Number(/VmRSS:\s+(\d+)/.exec(await Bun.file("/proc/self/status").text())![1]) / 1024;

let last = performance.now();
let gap = 0;
const iv = setInterval(() => {
  const now = performance.now();
  gap = Math.max(gap, now - last);
  last = now;
}, 1);
const cli = join(import.meta.dir, "../src/cli/main.ts");
const rounds: { gap: number; fork: number }[] = [];
for (let i = 0; i < 12; i++) {
  await Bun.sleep(30);
  gap = 0;
  last = performance.now();
  const p = Bun.spawn([process.execPath, cli, "attach", String(process.pid), "--eval", "state.rows.length"], { stdout: "pipe" });
  const out = (await new Response(p.stdout).text()).trim();
  await p.exited;
  if (Number(out) !== state.rows.length) throw new Error(`attach answered ${out}`);
  rounds.push({ gap, fork: attachForkTimes().at(-1)! });
}
clearInterval(iv);
const tail = rounds.slice(2); // the first attaches warm the path up
const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const over = tail.map((r) => r.gap - r.fork);
console.log(`app RSS ${rss.toFixed(0)} MiB, ${tail.length} attaches (after 2 warm-ups)`);
console.log(`fork time in the live process: median ${med(tail.map((r) => r.fork)).toFixed(1)} ms, max ${Math.max(...tail.map((r) => r.fork)).toFixed(1)} ms`);
console.log(`largest event-loop gap around an attach: median ${med(tail.map((r) => r.gap)).toFixed(1)} ms, max ${Math.max(...tail.map((r) => r.gap)).toFixed(1)} ms`);
console.log(`gap minus that attach's fork time: median ${med(over).toFixed(1)} ms, max ${Math.max(...over).toFixed(1)} ms`);
console.log(`bar (the pause at most the fork time + 5 ms): ${Math.max(...over) <= 5 ? "MET" : "MISSED"} on the worst attach, ${med(over) <= 5 ? "MET" : "MISSED"} on the median`);
process.exit(0);
