// Scratch research for issue 16: what the bare fork of a Bun process with a big JS heap costs,
// and what its memory looks like to the kernel. Run snapshot-safe (see run.sh):
//
//   bench/research/run.sh heap.ts [--mib=1024] [--kind=mixed|objects|typed] [--rounds=12] [flags]
//
// --kind: mixed = bench/roundtrip.ts's state (objects + strings + 2 MiB Float64Arrays);
//         objects = only the small objects; typed = only the typed arrays.
// Prints one "RESULT {json}" line: status (VmRSS, RssAnon, VmPTE...), page-table pages and
// density from pagemap, smaps grouped by kind of mapping (VmFlags nh/hg, AnonHugePages,
// THPeligible), and `raw`: medians of bare fork+_exit+waitpid rounds (wall, fork, wait, CPU).
// Flags:
// --hugestart  MADV_HUGEPAGE on the anonymous rw mappings >= 2 MiB that exist before the heap
//              grows (the heap's 1 GiB region is one of them), no collapse: huge pages at fault time
// --hugefirst  once the heap is built, before any fork: MADV_HUGEPAGE + MADV_COLLAPSE per 2 MiB
//              (a forked-from page stays write-protected and cannot be collapsed: SCAN_PAGE_RO)
// --huge       the same after the first measurement (mostly fails: pages are write-protected)
// --churn=N    N rounds of dropping half the chunks + GC + as many new chunks, then measure again
// --rewrite    time refilling every typed array, after one bare fork (issue item 3)
// --dontfork   MADV_DONTFORK on every anonymous mapping with no resident page, forks with/without
// --sleep=MS   print "READY pid" and sleep before measuring (to attach perf or read /proc)
// --serve      server for interleave.py (commands on stdin, one JSON line each)
// --dump=FILE  copy /proc/self/smaps to FILE
import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";
import { readFileSync, openSync, readSync, writeFileSync } from "node:fs";
import { heapStats } from "bun:jsc";
import { exitNow, fork as rawFork, waitpid } from "../../src/sys/process.ts";
import { makeForkable } from "../../src/fork/forkable.ts";

const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, "").split("="); return [k, v ?? "1"]; }));
const MIB = Number(args.mib ?? 1024);
const KIND = args.kind ?? "mixed";
const ROUNDS = Number(args.rounds ?? 12);
const MiB = 1 << 20;
const MADV_HUGEPAGE = 14, MADV_COLLAPSE = 25;

const libc = dlopen("libc.so.6", {
  getrusage: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
}).symbols;
const ruBuf = new BigInt64Array(18);
function childCpuMs(): number {
  libc.getrusage(-1, ruBuf);
  return (Number(ruBuf[0]) + Number(ruBuf[2])) * 1e3 + (Number(ruBuf[1]) + Number(ruBuf[3])) / 1e3;
}
const schedFd = openSync("/proc/thread-self/schedstat", "r");
const schedBuf = Buffer.alloc(128);
function threadCpuMs(): number {
  const n = readSync(schedFd, schedBuf, 0, 127, 0);
  return parseInt(schedBuf.toString("latin1", 0, n), 10) / 1e6;
}
function status(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync("/proc/self/status", "latin1").split("\n")) {
    const m = /^(Vm\w+|Rss\w+):\s+(\d+) kB/.exec(l);
    if (m) out[m[1]!] = Number(m[2]) / 1024;
  }
  return out;
}
const median = (xs: number[]) => { const s = xs.slice().sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2; };

// The state of bench/roundtrip.ts.
const keep: unknown[] = [];
let nextId = 0;
function addChunk(): void {
  const n = 32768;
  if (KIND !== "typed") {
    const objs = new Array(n);
    for (let i = 0; i < n; i++) {
      const id = nextId++;
      objs[i] = { id, name: `item-${id}`, score: id * 0.5, tags: [id & 7, id & 15], ok: (id & 1) === 0 };
    }
    keep.push(objs);
  }
  if (KIND === "mixed") {
    const strs = new Array<string>(n >> 3);
    for (let i = 0; i < strs.length; i++) {
      const s = `str-${nextId + i}-`.padEnd(96, "abcdefgh");
      s.charCodeAt(5);
      strs[i] = s;
    }
    keep.push(strs);
  }
  if (KIND !== "objects") {
    const ta = new Float64Array(1 << 18);
    ta.fill(nextId++);
    keep.push(ta);
  }
}

export interface Smap { lo: number; hi: number; perms: string; path: string; kb: Record<string, number>; flags: string[]; thp: number }
function smaps(): Smap[] {
  const out: Smap[] = [];
  let cur: Smap | null = null;
  for (const l of readFileSync("/proc/self/smaps", "latin1").split("\n")) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (h) {
      cur = { lo: parseInt(h[1]!, 16), hi: parseInt(h[2]!, 16), perms: h[3]!, path: h[4]!, kb: {}, flags: [], thp: 0 };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const k = /^(\w+):\s+(\d+) kB/.exec(l);
    if (k) cur.kb[k[1]!] = Number(k[2]);
    else if (l.startsWith("VmFlags:")) cur.flags = l.slice(8).trim().split(" ");
    else if (l.startsWith("THPeligible:")) cur.thp = Number(l.slice(12));
  }
  return out;
}

function summarize(ms: Smap[]) {
  const cat = (m: Smap) => {
    if (m.path && !m.path.startsWith("[")) return m.path.includes("bun") ? "file:bun" : "file:other";
    if (m.path) return m.path;
    if (m.perms === "---p") return "anon ---p";
    return `anon ${m.perms}${m.flags.includes("nh") ? " nh" : ""}${m.flags.includes("hg") ? " hg" : ""}${m.flags.includes("dd") ? " dd" : ""}`;
  };
  const agg: Record<string, { vmas: number; sizeMiB: number; rssMiB: number; anonMiB: number; ahpMiB: number; thpEligible: number; vmasWithRss: number }> = {};
  for (const m of ms) {
    const c = cat(m);
    const a = (agg[c] ??= { vmas: 0, sizeMiB: 0, rssMiB: 0, anonMiB: 0, ahpMiB: 0, thpEligible: 0, vmasWithRss: 0 });
    a.vmas++;
    a.sizeMiB += (m.hi - m.lo) / MiB;
    a.rssMiB += (m.kb.Rss ?? 0) / 1024;
    a.anonMiB += (m.kb.Anonymous ?? 0) / 1024;
    a.ahpMiB += (m.kb.AnonHugePages ?? 0) / 1024;
    a.thpEligible += m.thp;
    if (m.kb.Rss) a.vmasWithRss++;
  }
  for (const v of Object.values(agg)) for (const k of ["sizeMiB", "rssMiB", "anonMiB", "ahpMiB"] as const) v[k] = Math.round(v[k] * 10) / 10;
  // Anonymous rw mappings holding data, sorted by Rss.
  const top = ms.filter((m) => (m.kb.Anonymous ?? 0) > 4096).sort((a, b) => b.kb.Anonymous! - a.kb.Anonymous!).slice(0, 12)
    .map((m) => ({ at: m.lo.toString(16), sizeMiB: +((m.hi - m.lo) / MiB).toFixed(1), anonMiB: +(m.kb.Anonymous! / 1024).toFixed(1), ahpMiB: (m.kb.AnonHugePages ?? 0) / 1024, perms: m.perms, flags: m.flags.filter((f) => ["nh", "hg", "dd", "wf"].includes(f)).join(","), thp: m.thp }));
  return { vmas: ms.length, agg, top };
}

// Page-table pages needed if every 2 MiB region holding >= 1 resident page has a PTE page:
// counted from /proc/self/pagemap (present bit) over the anonymous mappings with Rss.
function ptePages(ms: Smap[]): { pteTables: number; presentPages: number; densityPct: number } {
  const fd = openSync("/proc/self/pagemap", "r");
  let tables = 0, present = 0;
  const buf = Buffer.alloc(512 * 8);
  for (const m of ms) {
    if (!m.kb.Rss) continue;
    for (let base = Math.floor(m.lo / (2 * MiB)) * 2 * MiB; base < m.hi; base += 2 * MiB) {
      const lo = Math.max(base, m.lo), hi = Math.min(base + 2 * MiB, m.hi);
      const n = (hi - lo) / 4096;
      readSync(fd, buf, 0, n * 8, (lo / 4096) * 8);
      let p = 0;
      for (let i = 0; i < n; i++) if (buf[i * 8 + 7]! & 0x80) p++;
      if (p) { tables++; present += p; }
    }
  }
  return { pteTables: tables, presentPages: present, densityPct: +((present / (tables * 512)) * 100).toFixed(1) };
}

function rawRounds(n: number, warm = 2) {
  const fork: number[] = [], wait: number[] = [], total: number[] = [], cpu: number[] = [], parentCpu: number[] = [], childCpu: number[] = [];
  for (let i = 0; i < n + warm; i++) {
    const k0 = childCpuMs(), s0 = threadCpuMs();
    const t0 = performance.now();
    const pid = rawFork();
    if (pid === 0) exitNow(0);
    const t1 = performance.now();
    const st = waitpid(pid);
    const t2 = performance.now();
    const pc = threadCpuMs() - s0, cc = childCpuMs() - k0;
    if (st !== 0) throw new Error(`child status ${st}`);
    if (i < warm) continue;
    fork.push(t1 - t0); wait.push(t2 - t1); total.push(t2 - t0); cpu.push(pc + cc); parentCpu.push(pc); childCpu.push(cc);
  }
  const r = (x: number) => +x.toFixed(2);
  return { forkAll: fork.map(r), waitAll: wait.map(r), cpuAll: cpu.map(r), forkMs: r(median(fork)), waitMs: r(median(wait)), totalMs: r(median(total)), cpuMs: r(median(cpu)), parentCpuMs: r(median(parentCpu)), childCpuMs: r(median(childCpu)), all: total.map(r) };
}

function hugeify(ms: Smap[]): { advised: number; collapsed: number; errors: Record<string, number> } {
  let advised = 0, collapsed = 0;
  const errors: Record<string, number> = {};
  for (const m of ms) {
    if (m.path || m.perms !== "rw-p" || m.hi - m.lo < 2 * MiB || !m.kb.Rss) continue;
    if (libc.madvise(m.lo, m.hi - m.lo, MADV_HUGEPAGE) === 0) advised++;
    if (args.collapse !== "0") {
      // One 2 MiB range per call: a whole-mapping MADV_COLLAPSE stops at the first range it may
      // not skip (an empty one, pmd_none, ends it with EINVAL on this kernel).
      const H = 2 * MiB;
      for (let a = Math.ceil(m.lo / H) * H; a + H <= m.hi; a += H) {
        if (libc.madvise(a, H, MADV_COLLAPSE) === 0) collapsed++;
        else { const e = new Int32Array(toArrayBuffer(libc.__errno_location()!, 0, 4))[0]!; errors[e] = (errors[e] ?? 0) + 1; }
      }
    }
  }
  return { advised, collapsed, errors };
}

let hugeStart: Record<string, unknown> | undefined;
if (args.hugestart) {
  // MADV_HUGEPAGE (no collapse) on the anonymous rw mappings there are before the heap grows.
  let advised = 0;
  const ranges: string[] = [];
  for (const m of smaps()) if (!m.path && m.perms === "rw-p" && m.hi - m.lo >= 2 * MiB && libc.madvise(m.lo, m.hi - m.lo, MADV_HUGEPAGE) === 0) { advised++; ranges.push(`${m.lo.toString(16)}+${((m.hi - m.lo) / MiB).toFixed(0)}M`); }
  hugeStart = { advised, ranges };
}
const base = status().VmRSS!;
const t0 = performance.now();
while (status().VmRSS! - base < MIB) addChunk();
Bun.gc(true);
const growMs = performance.now() - t0;
let hugeFirst: Record<string, unknown> | undefined;
if (args.hugefirst) {
  // Before any fork: a forked-from page stays write-protected, and khugepaged/MADV_COLLAPSE
  // refuse a range with no writable PTE (SCAN_PAGE_RO, reported as EINVAL).
  const s0 = status();
  const h0 = performance.now();
  const h = hugeify(smaps());
  hugeFirst = { ...h, ms: Math.round(h0 - performance.now()) * -1, rssBeforeMiB: Math.round(s0.VmRSS!), anonBeforeMiB: Math.round(s0.RssAnon!) };
}
makeForkable();
if (args.sleep) { console.error("READY " + process.pid); Bun.sleepSync(Number(args.sleep)); }
const before = status();
let ms = smaps();
const result: Record<string, unknown> = {
  kind: KIND, mib: MIB, growMs: Math.round(growMs), jsHeapMiB: Math.round((heapStats().heapSize + heapStats().extraMemorySize) / MiB),
  status: before, ptes: ptePages(ms), smaps: summarize(ms), raw: rawRounds(ROUNDS), hugeFirst, hugeStart,
};
if (args.dump) writeFileSync(args.dump, readFileSync("/proc/self/smaps", "latin1"));
if (args.huge) {
  const h0 = performance.now();
  const h = hugeify(ms);
  const hugeMs = performance.now() - h0;
  makeForkable();
  ms = smaps();
  result.huge = { ...h, ms: Math.round(hugeMs), status: status(), ptes: ptePages(ms), smaps: summarize(ms), raw: rawRounds(ROUNDS) };
  // Does the app keep working and what does a full GC + more allocation do to it?
  const g0 = performance.now();
  Bun.gc(true);
  for (let i = 0; i < 20; i++) addChunk();
  Bun.gc(true);
  ms = smaps();
  result.hugeAfterMore = { gcAndGrowMs: Math.round(performance.now() - g0), status: status(), smaps: summarize(ms).agg };
}
if (args.churn) {
  // An app phase after the snapshot-ready heap: drop every other chunk's objects, collect, build
  // as many new chunks, collect; then RSS, huge pages and the bare fork again.
  const c0 = performance.now();
  for (let round = 0; round < Number(args.churn); round++) {
    let dropped = 0;
    for (let i = round & 1; i < keep.length; i += 2) { keep[i] = null; dropped++; }
    Bun.gc(true);
    const kept = keep.filter((x) => x !== null);
    keep.length = 0;
    keep.push(...kept);
    const per = KIND === "mixed" ? 3 : 1;
    for (let i = 0; i < Math.round(dropped / per); i++) addChunk();
    Bun.gc(true);
  }
  const churnMs = performance.now() - c0;
  makeForkable();
  const m = smaps();
  result.churn = { rounds: Number(args.churn), ms: Math.round(churnMs), status: status(), ahpMiB: m.reduce((a, x) => a + (x.kb.AnonHugePages ?? 0), 0) / 1024, ptes: ptePages(m), raw: rawRounds(ROUNDS) };
}
if (args.rewrite) {
  // Issue item 3: rewrite every typed array (no fork before), then after one bare fork+_exit+waitpid.
  const tas = keep.filter((x) => x instanceof Float64Array) as Float64Array[];
  const selfFaults = () => { libc.getrusage(0, ruBuf); return Number(ruBuf[8]); };
  const fill = (v: number) => { const f0 = selfFaults(), t0 = performance.now(); for (const ta of tas) ta.fill(v); return { ms: +(performance.now() - t0).toFixed(1), faults: selfFaults() - f0 }; };
  const noFork = fill(1);
  const pid = rawFork();
  if (pid === 0) exitNow(0);
  waitpid(pid);
  const afterFork = fill(2);
  result.rewrite = { mib: tas.length * 2, noFork, afterFork };
}
if (args.dontfork) {
  // MADV_DONTFORK on every anonymous mapping with no resident page (reservations), then forks.
  const MADV_DONTFORK = 10;
  let n = 0;
  for (const m of smaps()) if (!m.path && !m.kb.Rss) { if (libc.madvise(m.lo, m.hi - m.lo, MADV_DONTFORK) === 0) n++; }
  const a = rawRounds(ROUNDS);
  makeForkable();
  const b = rawRounds(ROUNDS);
  for (const m of smaps()) if (!m.path && !m.kb.Rss) libc.madvise(m.lo, m.hi - m.lo, MADV_DONTFORK);
  const c = rawRounds(ROUNDS);
  makeForkable();
  const d = rawRounds(ROUNDS);
  result.dontfork = { ranges: n, withDontfork: [a.totalMs, c.totalMs], without: [b.totalMs, d.totalMs], cpuWith: [a.cpuMs, c.cpuMs], cpuWithout: [b.cpuMs, d.cpuMs] };
}
if (!args.serve) console.log("RESULT " + JSON.stringify(result));
else {
  // Server mode for interleave.py: "R n" -> n raw rounds; "S n" -> n library snapshot rounds
  // (fork(), child revert(0)) then nothing; "I" -> status; EOF -> exit. One JSON line per command.
  const { fork: snapFork, revert } = await import("../../src/index.ts");
  console.log(JSON.stringify({ ready: true, status: status(), ptes: result.ptes, vmas: (result.smaps as { vmas: number }).vmas, huge: hugeFirst }));
  const buf = Buffer.alloc(256);
  let pending = "";
  for (;;) {
    const n = readSync(0, buf, 0, 256, null);
    if (n <= 0) break;
    pending += buf.toString("latin1", 0, n);
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const [cmd, arg] = pending.slice(0, nl).split(" ");
      pending = pending.slice(nl + 1);
      if (cmd === "R") console.log(JSON.stringify(rawRounds(Number(arg))));
      else if (cmd === "S") {
        const t: number[] = [];
        let failed = 0;
        for (let i = 0; i < Number(arg); i++) {
          const t0 = performance.now();
          const r = snapFork();
          if (r.role === "child") revert(0);
          else {
            t.push(performance.now() - t0);
            if (r.outcome.exitCode !== 0) failed++;
          }
        }
        console.log(JSON.stringify({ snapMs: +median(t).toFixed(2), failed }));
      } else console.log(JSON.stringify({ status: status(), smaps: summarize(smaps()).agg }));
    }
  }
}
