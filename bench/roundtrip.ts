// The snapshot round trip (snapshot() taken -> the child calls revert(0) at once -> parent
// resumed) at JS heaps of about 0 MiB, 64 MiB, 256 MiB and 1 GiB, side by side, in the same
// interleaved blocks, with three baselines holding the same RSS:
//   C fork        fork()+waitpid() of bench/cfork.c, its memory memset in address order (the
//                 issue's bar is stated against this one);
//   C scattered   the same C process with each page first written in a random order, so its
//                 physical frames are scattered as a long-running Bun heap's are (a fresh memset
//                 mostly gets consecutive frames, which makes fork and teardown cheaper);
//   bare FFI fork fork(2)+_exit(0)+waitpid(2) from this Bun process through src/sys/process.ts,
//                 no library at all.
// Also: trials per second (trial() of a trivial sync and async function), the minor page faults
// of the child before user code runs, the parent's first write to its pages after a round trip
// (issue item 3), structuredClone of the same state, the CPU-time view (parent thread + child:
// the work, which busy neighbours inflate far less than wall time) and where the time goes.
//
// Run with `bun run bench` (snapshot-safe via `bun-snapshot run`); run directly, it restarts
// itself snapshot-safe first. Takes a bit over a minute. The C baseline is built in a temp dir
// that is removed at the end (BENCH_CC=ffi forces the bun:ffi TinyCC fallback used when there is
// no system cc).
//
// Bars (issue 16, item 1), printed as measured facts, never failing the run:
//   empty heap:       snapshot median <= C fork median + 1 ms
//   64 MiB to 1 GiB:  snapshot median <= 1.2 x the C fork median at the same RSS
// The same comparisons against C scattered and against the bare FFI fork are printed, labelled,
// as context. And: 1 GiB: structuredClone >= 100 x the snapshot median.
import { ensureSafe, unsafeReason } from "../src/safe/mode.ts";
ensureSafe(); // re-executes this script with the snapshot-safe switches when they are missing

import { dlopen, FFIType, toArrayBuffer } from "bun:ffi";
import { heapStats } from "bun:jsc";
import { mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastOutcome, revert, snapshot, trial } from "../src/index.ts";
import { openChannel, receive } from "../src/fork/channel.ts";
import { exitNow, fork as rawFork, waitpid } from "../src/sys/process.ts";
import { makeForkable } from "../src/fork/forkable.ts";
import { deferProven, lastDeferSlot, setDeferExit } from "../src/fork/native.ts";
import { pendingStdio } from "../src/bun-internals/stdio-sink.ts";

// The wait for idle helper threads before the fork, where the tree has it (timed alone below).
const quiesceMod = (await import("../src/fork/quiesce.ts" as string).catch(() => null)) as { quiesce?: () => unknown } | null;

const MiB = 1 << 20;
const CFORK_SRC = join(import.meta.dir, "cfork.c");

interface Level {
  name: string;
  targetMiB: number; // RSS to add over the empty-heap baseline
  rounds: number;
  warmups: number;
  clone: boolean; // measure structuredClone of this level's state
}
const LEVELS: Level[] = [
  { name: "empty", targetMiB: 0, rounds: 40, warmups: 3, clone: true },
  { name: "64 MiB", targetMiB: 64, rounds: 24, warmups: 3, clone: false },
  { name: "256 MiB", targetMiB: 256, rounds: 24, warmups: 3, clone: true },
  { name: "1 GiB", targetMiB: 1024, rounds: 16, warmups: 3, clone: true },
];
// A structuredClone expected to run longer than this is measured on a slice and extrapolated.
const CLONE_CAP_MS = 90_000;
// Snapshot, C, C scattered and bare FFI rounds run in this many interleaved blocks (their order
// rotating from block to block), so that drift in the load of the machine (other processes on
// these cores) touches all four alike.
const BLOCKS = 4;
// Trials per second: each loop runs this long.
const TRIAL_LOOP_MS = 2000;
// Issue item 3: the parent rewrites this many MiB of typed arrays, REWRITE_REPS times each way.
const REWRITE_MIB = 256;
const REWRITE_REPS = 5;

// ---------------------------------------------------------------------------------------------
// Small helpers

function vmRssMiB(): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "latin1"));
  return m ? Number(m[1]) / 1024 : NaN;
}

// RssAnon and RssFile of this process, MiB: fork copies the page tables of both, but only the
// anonymous pages are private memory of the kind the C baseline holds (VmRSS = RssAnon + RssFile
// + RssShmem; the C fork is sized to VmRSS, as the issue states its bar).
function rssParts(): { anon: number; file: number } {
  const st = readFileSync("/proc/self/status", "latin1");
  const kib = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)\\s+kB`).exec(st)?.[1] ?? NaN) / 1024;
  return { anon: kib("RssAnon"), file: kib("RssFile") };
}

// Minor page faults of this process's reaped children so far (getrusage RUSAGE_CHILDREN): the
// copy-on-write faults a child takes while it runs, the main cost of a child that runs any JS.
const libc = dlopen("libc.so.6", {
  getrusage: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  mmap: { args: [FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.i32, FFIType.i32, FFIType.i64], returns: FFIType.ptr },
}).symbols;
const ruBuf = new BigInt64Array(18); // struct rusage: 2 timevals, then 14 longs (ru_minflt is the 9th word)
function childFaults(): number {
  libc.getrusage(-1, ruBuf);
  return Number(ruBuf[8]);
}
function selfFaults(): number {
  libc.getrusage(0, ruBuf);
  return Number(ruBuf[8]);
}

// The child's faults before user code: one shared page (MAP_SHARED | MAP_ANONYMOUS, inherited by
// every child, immune to descriptor closes), into which a child's very first action,
// getrusage(RUSAGE_SELF), writes its struct rusage directly: no JS write of the child's own
// precedes the reading (the copy-out into the page happens after the kernel read the counters).
// The snapshot child's struct sits at byte 0, the bare FFI child's at byte 256; the parent
// marks ru_minflt -1 before each round, so a child that never wrote is seen.
const shmPtr = libc.mmap(null, 4096, 3 /* PROT_READ | PROT_WRITE */, 0x21 /* MAP_SHARED | MAP_ANONYMOUS */, -1, 0);
if (!shmPtr || Number(shmPtr) < 0 || Number(shmPtr) >= 2 ** 63) throw new Error("bench: mmap of the shared page failed");
const shm = new BigInt64Array(toArrayBuffer(shmPtr, 0, 4096));
const SNAP_SLOT = shmPtr;
const RAW_SLOT = Number(shmPtr) + 256;
const SNAP_MINFLT = 8; // index of ru_minflt in shm for each slot
const RAW_MINFLT = 32 + 8;
function slotFaults(i: number): number {
  const v = Number(shm[i]);
  return v < 0 ? NaN : v;
}

// CPU ms (user + system) of the reaped children so far.
function childCpuMs(): number {
  libc.getrusage(-1, ruBuf);
  return (Number(ruBuf[0]) + Number(ruBuf[2])) * 1e3 + (Number(ruBuf[1]) + Number(ruBuf[3])) / 1e3;
}
// CPU ms this (main) thread has run: the scheduler's precise runtime. With the children's CPU it
// gives the work of a round, which unlike its wall time other busy processes hardly inflate.
const schedFd = openSync("/proc/thread-self/schedstat", "r");
const schedBuf = Buffer.alloc(128);
function threadCpuMs(): number {
  const n = readSync(schedFd, schedBuf, 0, 127, 0);
  return parseInt(schedBuf.toString("latin1", 0, n), 10) / 1e6;
}

function loadavg(): string {
  try {
    return readFileSync("/proc/loadavg", "latin1").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

// CPU ticks of the whole machine (busy, total) and of this process with its reaped children.
function machineTicks(): { busy: number; total: number } {
  const v = readFileSync("/proc/stat", "latin1").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = v[3]! + v[4]!;
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}
function selfTicks(): number {
  const st = readFileSync("/proc/self/stat", "latin1");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
}

function sorted(xs: number[]): number[] {
  return xs.slice().sort((a, b) => a - b);
}
function median(xs: number[]): number {
  const s = sorted(xs);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}
// Nearest-rank percentile.
function pct(xs: number[], p: number): number {
  const s = sorted(xs);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
}
// Median time of `n` calls of fn, in ms.
function timeMedian(n: number, fn: () => unknown): number {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}
function f(x: number, d = 2): string {
  return Number.isFinite(x) ? x.toFixed(d) : "n/a";
}
function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 0.1) return x.toFixed(2);
  return x.toFixed(4);
}
function log(s = ""): void {
  process.stdout.write(`${s}\n`);
}
function note(s: string): void {
  process.stderr.write(`  .. ${s}\n`);
}

// ---------------------------------------------------------------------------------------------
// The JS state: arrays of small objects, flat strings and typed arrays, built in chunks so that
// the level of a smaller heap is a prefix of a bigger one (its clone is measured on that prefix).

interface State {
  objects: { id: number; name: string; score: number; tags: number[]; ok: boolean }[][];
  strings: string[][];
  typed: Float64Array[];
}
const state: State = { objects: [], strings: [], typed: [] };
let nextId = 0;

function addChunk(): void {
  const n = 32768;
  const objs = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = nextId++;
    objs[i] = { id, name: `item-${id}`, score: id * 0.5, tags: [id & 7, id & 15], ok: (id & 1) === 0 };
  }
  state.objects.push(objs);
  const strs = new Array<string>(n >> 3);
  for (let i = 0; i < strs.length; i++) {
    const s = `str-${nextId + i}-`.padEnd(96, "abcdefgh");
    s.charCodeAt(5); // resolve any rope: the characters are really stored
    strs[i] = s;
  }
  state.strings.push(strs);
  const ta = new Float64Array(1 << 18); // 2 MiB, every page written
  ta.fill(nextId);
  state.typed.push(ta);
}

// The first `chunks` chunks of the state (the state as it was at a smaller level).
function prefix(chunks: number): State {
  return { objects: state.objects.slice(0, chunks), strings: state.strings.slice(0, chunks), typed: state.typed.slice(0, chunks) };
}

// Grows the state until RSS is `addMiB` over `baseMiB` and stays there after a full collection.
function growTo(baseMiB: number, addMiB: number): void {
  for (let pass = 0; pass < 4; pass++) {
    while (vmRssMiB() - baseMiB < addMiB) addChunk();
    Bun.gc(true);
    if (vmRssMiB() - baseMiB >= addMiB * 0.97) return;
  }
}

function jsHeapMiB(): number {
  const h = heapStats();
  return (h.heapSize + h.extraMemorySize) / MiB;
}

// ---------------------------------------------------------------------------------------------
// (a) the C baseline

interface CRun {
  rssMiB: number;
  maps: number;
  rounds: number[];
  cpu: number[]; // parent + child CPU ms of each round
  childFaults: number;
}
type CMode = "seq" | "rand"; // bench/cfork.c: memset in address order, or pages in random order
let cRunner: (mib: number, rounds: number, warmups: number, mode: CMode) => CRun;
let cHow = "";
let cBaseMiB = 0; // RSS of the C process before its allocation
let tmp = "";

function setUpC(): void {
  tmp = mkdtempSync(join(tmpdir(), "bun-snapshot-bench-"));
  // BENCH_CC=ffi forces the fallback below (to test it).
  const compiler = process.env.BENCH_CC === "ffi" ? null : (Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang"));
  if (compiler) {
    const exe = join(tmp, "cfork");
    const r = Bun.spawnSync([compiler, "-O2", "-o", exe, CFORK_SRC], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${compiler} -O2 ${CFORK_SRC} failed:\n${r.stderr.toString()}`);
    cHow = `${compiler} -O2`;
    cRunner = (mib, rounds, warmups, mode) => {
      const p = Bun.spawnSync([exe, String(mib), String(rounds), String(warmups), "1", mode], { stdout: "pipe", stderr: "pipe", timeout: 120_000, killSignal: "SIGKILL" });
      if (p.exitCode !== 0) throw new Error(`cfork ${mib} ${rounds} failed (${p.exitCode ?? p.signalCode}): ${p.stderr.toString()}`);
      return parseC(p.stdout.toString());
    };
  } else {
    // No system compiler: the same C through bun:ffi's TinyCC, in a separate bun process so
    // that this one's heap is not part of it (its RSS includes that bun's own baseline).
    const script = join(tmp, "cfork-ffi.ts");
    writeFileSync(
      script,
      `import { cc } from "bun:ffi";
import { makeForkable } from ${JSON.stringify(join(import.meta.dir, "../src/fork/forkable.ts"))};
const { symbols: s } = cc({ source: ${JSON.stringify(CFORK_SRC)}, symbols: {
  cfork_alloc_mode: { args: ["int", "int", "int"], returns: "int" },
  cfork_rounds: { args: ["int", "int", "ptr", "ptr"], returns: "int" },
  cfork_vmrss_kib: { args: [], returns: "i64" },
  cfork_children_minflt: { args: [], returns: "i64" },
}});
const [mib, rounds, warmups] = process.argv.slice(2, 5).map(Number);
const scattered = process.argv[5] === "rand" ? 1 : 0;
const base = Number(s.cfork_vmrss_kib()) / 1024;
if (s.cfork_alloc_mode(Math.max(0, Math.round(mib - base)), 1, scattered) !== 0) process.exit(1);
makeForkable();
const out = new Float64Array(rounds);
const cpu = new Float64Array(2 * rounds);
if (s.cfork_rounds(rounds, warmups, out, cpu) !== 0) process.exit(1);
console.log("vmrss_kib " + s.cfork_vmrss_kib());
console.log("maps " + (require("fs").readFileSync("/proc/self/maps", "latin1").split("\\n").length - 1));
for (const t of out) console.log("round_ms " + t);
for (let i = 0; i < rounds; i++) console.log("round_cpu " + cpu[2 * i] + " " + cpu[2 * i + 1]);
console.log("child_minflt " + Number(s.cfork_children_minflt()) / (rounds + warmups));
`,
    );
    cHow = "bun:ffi cc (TinyCC) in a bun subprocess: no system cc";
    cRunner = (mib, rounds, warmups, mode) => {
      const p = Bun.spawnSync([process.execPath, script, String(mib), String(rounds), String(warmups), mode], { stdout: "pipe", stderr: "pipe", timeout: 120_000, killSignal: "SIGKILL" });
      if (p.exitCode !== 0) throw new Error(`cfork (ffi) failed: ${p.stderr.toString()}`);
      return parseC(p.stdout.toString());
    };
  }
  cBaseMiB = cHow.startsWith("bun:ffi") ? 0 : cRunner(0, 1, 0, "seq").rssMiB;
}

function parseC(out: string): CRun {
  const r: CRun = { rssMiB: NaN, maps: NaN, rounds: [], cpu: [], childFaults: NaN };
  for (const line of out.split("\n")) {
    const [k, v] = line.split(" ");
    if (k === "vmrss_kib") r.rssMiB = Number(v) / 1024;
    else if (k === "maps") r.maps = Number(v);
    else if (k === "round_ms") r.rounds.push(Number(v));
    else if (k === "child_minflt") r.childFaults = Number(v);
    else if (k === "round_cpu") r.cpu.push(Number(v) + Number(line.split(" ")[2]));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// The snapshot round trip, the same fork without the library, and the library's preparation

let childFailures = 0;

// One round trip through the public API, as the issue states it: snapshot(); the child, as its
// very first action (the first line of user code), has getrusage() write its faults so far into
// the shared page, then revert(0). Returns the parent's wall time, the library's own fork-to-reap
// time (Outcome.durationMs), the CPU time of the round, and minor faults: the child's before user
// code, the child's in total, and this parent's during the round.
function snapshotRound(): { wall: number; inLib: number; cpu: number; childBefore: number; childFaults: number; parentFaults: number } {
  shm[SNAP_MINFLT] = -1n;
  const c0 = childFaults();
  const p0 = selfFaults();
  const k0 = childCpuMs();
  const s0 = threadCpuMs();
  const t0 = performance.now();
  if (snapshot()) {
    libc.getrusage(0, SNAP_SLOT);
    revert(0);
  }
  const wall = performance.now() - t0;
  const cpu = threadCpuMs() - s0 + childCpuMs() - k0;
  const p1 = selfFaults();
  const outcome = lastOutcome()!;
  if (outcome.exitCode !== 0) childFailures++;
  return { wall, inLib: outcome.durationMs, cpu, childBefore: slotFaults(SNAP_MINFLT), childFaults: childFaults() - c0, parentFaults: p1 - p0 };
}

// fork(2) + _exit(0) + waitpid(2) through src/sys/process.ts: Bun's own cost, no library. The
// child's first action, as in snapshotRound(), records its faults at the point fork returned 0.
function rawRound(): { total: number; fork: number; wait: number; cpu: number; childBefore: number; childFaults: number } {
  shm[RAW_MINFLT] = -1n;
  const c0 = childFaults();
  const k0 = childCpuMs();
  const s0 = threadCpuMs();
  const t0 = performance.now();
  const pid = rawFork();
  if (pid === 0) {
    libc.getrusage(0, RAW_SLOT);
    exitNow(0);
  }
  const t1 = performance.now();
  const status = waitpid(pid);
  const t2 = performance.now();
  const cpu = threadCpuMs() - s0 + childCpuMs() - k0;
  if (status !== 0) childFailures++;
  return { total: t2 - t0, fork: t1 - t0, wait: t2 - t1, cpu, childBefore: slotFaults(RAW_MINFLT), childFaults: childFaults() - c0 };
}

interface Result {
  level: Level;
  rssMiB: number;
  rssAnonMiB: number;
  rssFileMiB: number;
  heapMiB: number;
  maps: number;
  chunks: number;
  snap: number[]; // wall ms of each round
  snapInLib: number[];
  raw: number[]; // bare FFI fork (rawRound): total, until fork returned, the wait
  rawFork: number[];
  rawWait: number[];
  c: number[];
  cs: number[]; // C scattered
  cRssMiB: number;
  cMaps: number;
  // medians of minor faults: snapshot child before user code / in total, this parent during a
  // snapshot round, bare FFI child when fork returned 0 / in total, C child (memset / scattered)
  faults: { snapBefore: number; snapChild: number; snapParent: number; rawBefore: number; rawChild: number; cChild: number; csChild: number };
  // snapNd: the same snapshot with the child's teardown on the parent's time (not deferred)
  snapNd: number[];
  deferred: number; // of the snapshot rounds, how many children deferred their teardown
  cpu: { snap: number[]; snapNd: number[]; raw: number[]; c: number[]; cs: number[] };
  blocks: { snap: number[]; snapNd: number[]; raw: number[]; c: number[]; cs: number[] }; // the median of each interleaved block
  makeForkable: number;
  mapsRead: number;
  channel: number;
  stdioCheck: number;
  errorStack: number;
  quiesce: number;
  clone?: { ms: number; runs: number[]; how: string };
}

function measureLevel(level: Level, baseMiB: number): Result {
  if (level.targetMiB > 0) growTo(baseMiB, level.targetMiB);
  makeForkable();
  const rssMiB = vmRssMiB();
  const parts = rssParts();
  const heapMiB = jsHeapMiB();
  const maps = readFileSync("/proc/self/maps", "latin1").split("\n").length - 1;
  note(`${level.name}: RSS ${f(rssMiB, 0)} MiB (anon ${f(parts.anon, 0)}, file ${f(parts.file, 0)}), JS heap ${f(heapMiB, 0)} MiB, ${state.objects.length} chunks; measuring`);

  for (let i = 0; i < level.warmups; i++) snapshotRound();
  for (let i = 0; i < level.warmups; i++) rawRound();

  const snap: number[] = [], snapInLib: number[] = [], raw: number[] = [], rawF: number[] = [], rawW: number[] = [], c: number[] = [], cs: number[] = [];
  const fSnapBefore: number[] = [], fSnapChild: number[] = [], fSnapParent: number[] = [], fRawBefore: number[] = [], fRawChild: number[] = [];
  const fCChild: number[] = [], fCsChild: number[] = [];
  const cpuSnap: number[] = [], cpuRaw: number[] = [], cpuC: number[] = [], cpuCs: number[] = [];
  const blockSnap: number[] = [], blockRaw: number[] = [], blockC: number[] = [], blockCs: number[] = [];
  const snapNd: number[] = [], cpuSnapNd: number[] = [], blockSnapNd: number[] = [];
  let deferred = 0;
  let cRss = NaN, cMaps = NaN;
  const cMiB = Math.max(0, Math.round(rssMiB - cBaseMiB)); // the C process's RSS = this VmRSS

  // n snapshot round trips, the child's teardown deferred or not (BUN_SNAPSHOT_DEFER_EXIT=0).
  const snapshots = (n: number, defer: boolean) => {
    const w: number[] = [];
    setDeferExit(defer);
    for (let i = 0; i < n; i++) {
      const r = snapshotRound();
      w.push(r.wall);
      (defer ? cpuSnap : cpuSnapNd).push(r.cpu);
      if (!defer) continue;
      if (lastDeferSlot() >= 0) deferred++;
      snapInLib.push(r.inLib);
      fSnapBefore.push(r.childBefore);
      fSnapChild.push(r.childFaults);
      fSnapParent.push(r.parentFaults);
    }
    setDeferExit(true);
    (defer ? snap : snapNd).push(...w);
    (defer ? blockSnap : blockSnapNd).push(median(w));
  };
  // The five contestants; each block runs them all, the order rotating by one from block to block.
  const contestants: ((n: number) => void)[] = [
    (n) => snapshots(n, true),
    (n) => snapshots(n, false),
    (n) => {
      const cr = cRunner(cMiB, n, 2, "seq");
      c.push(...cr.rounds);
      blockC.push(median(cr.rounds));
      cRss = cr.rssMiB;
      cMaps = cr.maps;
      fCChild.push(cr.childFaults);
      cpuC.push(...cr.cpu);
    },
    (n) => {
      const cr = cRunner(cMiB, n, 2, "rand");
      cs.push(...cr.rounds);
      blockCs.push(median(cr.rounds));
      fCsChild.push(cr.childFaults);
      cpuCs.push(...cr.cpu);
    },
    (n) => {
      const w: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = rawRound();
        w.push(r.total);
        rawF.push(r.fork);
        rawW.push(r.wait);
        fRawBefore.push(r.childBefore);
        fRawChild.push(r.childFaults);
        cpuRaw.push(r.cpu);
      }
      raw.push(...w);
      blockRaw.push(median(w));
    },
  ];
  for (let b = 0; b < BLOCKS; b++) {
    const n = Math.floor(((b + 1) * level.rounds) / BLOCKS) - Math.floor((b * level.rounds) / BLOCKS);
    for (let k = 0; k < contestants.length; k++) contestants[(b + k) % contestants.length]!(n);
  }

  // The library's preparation, each part alone (makeForkable a second time: nothing new to advise).
  const mf = timeMedian(30, () => makeForkable());
  const mapsRead = timeMedian(30, () => readFileSync("/proc/self/maps", "latin1"));
  const channel = timeMedian(30, () => receive(openChannel()));
  const stdioCheck = timeMedian(30, () => pendingStdio());
  const errorStack = timeMedian(30, () => new Error("x").stack);
  const q = quiesceMod?.quiesce;
  const quiesce = q ? timeMedian(30, () => q()) : NaN;

  return {
    level, rssMiB, rssAnonMiB: parts.anon, rssFileMiB: parts.file, heapMiB, maps, chunks: state.objects.length,
    snap, snapNd, deferred, snapInLib, raw, rawFork: rawF, rawWait: rawW, c, cs, cRssMiB: cRss, cMaps,
    faults: {
      snapBefore: median(fSnapBefore), snapChild: median(fSnapChild), snapParent: median(fSnapParent),
      rawBefore: median(fRawBefore), rawChild: median(fRawChild), cChild: median(fCChild), csChild: median(fCsChild),
    },
    cpu: { snap: cpuSnap, snapNd: cpuSnapNd, raw: cpuRaw, c: cpuC, cs: cpuCs },
    blocks: { snap: blockSnap, snapNd: blockSnapNd, raw: blockRaw, c: blockC, cs: blockCs },
    makeForkable: mf, mapsRead, channel, stdioCheck, errorStack, quiesce,
  };
}

// ---------------------------------------------------------------------------------------------
// Trials per second at the empty heap: trial(() => 1) in a loop, then await trial(async () => 1).

interface TrialRate {
  kind: string;
  count: number;
  perSecond: number;
  times: number[]; // ms of each trial, as the caller sees it
  failed: number;
}

async function measureTrials(): Promise<TrialRate[]> {
  const out: TrialRate[] = [];
  {
    const times: number[] = [];
    let failed = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < TRIAL_LOOP_MS) {
      const t = performance.now();
      const r = trial(() => 1);
      times.push(performance.now() - t);
      if (!r.ok || r.value !== 1) failed++;
    }
    const elapsed = performance.now() - t0;
    out.push({ kind: "sync:  trial(() => 1)", count: times.length, perSecond: (times.length * 1000) / elapsed, times, failed });
  }
  {
    const times: number[] = [];
    let failed = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < TRIAL_LOOP_MS) {
      const t = performance.now();
      const r = await trial(async () => 1);
      times.push(performance.now() - t);
      if (!r.ok || r.value !== 1) failed++;
    }
    const elapsed = performance.now() - t0;
    out.push({ kind: "async: await trial(async () => 1)", count: times.length, perSecond: (times.length * 1000) / elapsed, times, failed });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Issue item 3: after a fork, every page of the parent is write-protected (copy-on-write), and
// stays so after the child is gone: the parent's first write to each page faults (the kernel
// then finds the page unshared and reuses it, no copy, but it is one fault per 4 KiB page).
// Measured here in this process, on the same REWRITE_MIB of typed arrays (every element written
// with fill()): right after a snapshot round trip, right after a bare FFI fork round trip, and
// with no fork since the last rewrite. Interleaved, REWRITE_REPS times each.

interface Rewrite {
  mib: number;
  none: { ms: number[]; faults: number[] };
  snap: { ms: number[]; faults: number[]; total: number[] };
  snapNd: { ms: number[]; faults: number[]; total: number[] };
  bare: { ms: number[]; faults: number[]; total: number[] };
  rssMiB: number;
}

function measureRewrite(): Rewrite {
  const arrays: Float64Array[] = [];
  for (let i = 0; i < REWRITE_MIB / 2; i++) arrays.push(new Float64Array(1 << 18).fill(1)); // 2 MiB each
  let v = 2;
  const rewrite = (into: { ms: number[]; faults: number[] }) => {
    const f0 = selfFaults();
    const t0 = performance.now();
    for (const a of arrays) a.fill(v);
    into.ms.push(performance.now() - t0);
    into.faults.push(selfFaults() - f0);
    v++;
  };
  const r: Rewrite = {
    mib: REWRITE_MIB, none: { ms: [], faults: [] }, snap: { ms: [], faults: [], total: [] }, snapNd: { ms: [], faults: [], total: [] },
    bare: { ms: [], faults: [], total: [] }, rssMiB: vmRssMiB(),
  };
  // The round trip and the rewrite right after it, as one span too: a deferred teardown returns
  // sooner, and the helper still holds pages the parent then writes (copied, not reused).
  const both = (round: () => number, into: { ms: number[]; faults: number[]; total: number[] }) => {
    const wall = round();
    rewrite(into);
    into.total.push(wall + into.ms.at(-1)!);
  };
  rewrite({ ms: [], faults: [] }); // warm: every page written once more, none write-protected
  for (let i = 0; i < REWRITE_REPS; i++) {
    both(() => snapshotRound().wall, r.snap);
    rewrite(r.none); // the pages were all just written: nothing is write-protected any more
    setDeferExit(false);
    both(() => snapshotRound().wall, r.snapNd);
    setDeferExit(true);
    rewrite(r.none);
    both(() => rawRound().total, r.bare);
    rewrite(r.none);
  }
  arrays.length = 0;
  Bun.gc(true);
  return r;
}

// ---------------------------------------------------------------------------------------------
// (b) structuredClone of the state as it was at each level (a prefix of the final state).
function measureClones(results: Result[]): void {
  let msPerMiB = NaN; // from the biggest real clone so far
  for (const r of results) {
    if (!r.level.clone) continue;
    const s = prefix(r.chunks);
    const sizeMiB = Math.max(1, r.rssMiB - results[0]!.rssMiB);
    const runs: number[] = [];
    const cloneOnce = (x: State) => {
      const t0 = performance.now();
      let copy: State | undefined = structuredClone(x);
      const t = performance.now() - t0;
      if (copy.objects.length !== x.objects.length) throw new Error("structuredClone lost data");
      copy = undefined;
      Bun.gc(true);
      return t;
    };
    const estimate = msPerMiB * sizeMiB;
    if (r.level.targetMiB === 0) {
      for (let i = 0; i < 30; i++) runs.push(cloneOnce(s));
      r.clone = { ms: median(runs), runs, how: "median of 30" };
    } else if (Number.isFinite(estimate) && estimate > CLONE_CAP_MS) {
      // Too long to wait for: clone a quarter of the chunks and scale by the chunk count.
      const quarter = Math.max(1, r.chunks >> 2);
      const t = cloneOnce(prefix(quarter));
      r.clone = { ms: (t * r.chunks) / quarter, runs: [t], how: `EXTRAPOLATED: ${quarter}/${r.chunks} chunks cloned in ${f(t, 0)} ms, scaled linearly` };
    } else {
      note(`${r.level.name}: structuredClone${Number.isFinite(estimate) ? ` (expected ~${f(estimate / 1000, 1)} s)` : ""}`);
      runs.push(cloneOnce(s));
      if (runs[0]! < 5_000) runs.push(cloneOnce(s)); // a second run only when it is quick
      r.clone = { ms: median(runs), runs, how: runs.length === 1 ? "1 run" : `median of ${runs.length}` };
      msPerMiB = r.clone.ms / sizeMiB;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Output

function pad(s: string, n: number, right = false): string {
  return right ? s.padEnd(n) : s.padStart(n);
}
function table(cols: [string, number][], rows: string[][]): void {
  log(cols.map(([h, w], i) => pad(h, w, i === 0)).join(" "));
  log(cols.map(([, w]) => "-".repeat(w)).join(" "));
  for (const row of rows) log(row.map((v, i) => pad(v, cols[i]![1], i === 0)).join(" "));
}
const x = (a: number, b: number) => `${f(a / b)}x`;
const plus = (d: number, digits = 2) => `${d >= 0 ? "+" : ""}${f(d, digits)}`;

// The main table: wall-time medians of one round trip, all four measured in the same blocks.
function printTable(results: Result[]): void {
  log("Round trip, wall-time medians (ms), the five measured in the same interleaved blocks:");
  table(
    [["level", 8], ["RSS MiB", 8], ["C fork", 8], ["C scattered", 12], ["bare FFI fork", 14], ["snapshot", 9],
      ["snap/C", 7], ["snap/C scat", 12], ["snap/bare", 10], ["snap-C ms", 10], ["not deferred", 13], ["n.d./C", 7]],
    results.map((r) => {
      const sm = median(r.snap), cm = median(r.c), csm = median(r.cs), rm = median(r.raw), nd = median(r.snapNd);
      return [r.level.name, f(r.rssMiB, 0), ms(cm), ms(csm), ms(rm), ms(sm), x(sm, cm), x(sm, csm), x(sm, rm), plus(sm - cm), ms(nd), x(nd, cm)];
    }),
  );
  log("  RSS:           VmRSS of this process at the level (the C processes are sized to it)");
  log(`  C fork:        fork()+waitpid() of bench/cfork.c (${cHow}), memory memset in order, child _exit(0)`);
  log("  C scattered:   the same, its pages first written in a random order (physical frames scattered,");
  log("                 as a long-running heap's are; a fresh in-order memset gets mostly consecutive frames)");
  log("  bare FFI fork: fork+_exit+waitpid from this Bun process through src/sys/process.ts, no library");
  log("  snapshot:      wall time in the parent of snapshot() -> child revert(0) -> parent resumed; the child's");
  log("                 memory is torn down by its exit helper after the parent resumed (src/sys/exit-c.ts)");
  log("  not deferred:  the same with BUN_SNAPSHOT_DEFER_EXIT=0: the teardown before the parent's wait returns");
  log(`  deferred:      snapshot rounds whose child did defer (else the exit helpers followed were at their cap): ${results.map((r) => `${r.level.name} ${r.deferred}/${r.snap.length}`).join(", ")}`);
  log();
  log("Also (medians, ms):");
  table(
    [["level", 8], ["RssAnon", 8], ["RssFile", 8], ["JS heap", 8], ["snap p90", 9], ["clone ms", 9], ["clone/snap", 11]],
    results.map((r) => {
      const sm = median(r.snap);
      return [
        r.level.name, f(r.rssAnonMiB, 0), f(r.rssFileMiB, 0), f(r.heapMiB, 0), ms(pct(r.snap, 90)),
        r.clone ? ms(r.clone.ms) : "-", r.clone ? `${f(r.clone.ms / sm, r.clone.ms / sm >= 10 ? 0 : 3)}x` : "-",
      ];
    }),
  );
  log("  RssAnon/RssFile: the anonymous and file-backed parts of VmRSS (MiB); the C baseline's memory is all");
  log("  anonymous, so at the same VmRSS it holds ~RssFile MiB more anonymous memory than this process");
  log("  JS heap: bun:jsc heapStats() heapSize + extraMemorySize (typed array stores), MiB");
  log("  clone: structuredClone of the level's JS state (not measured at 64 MiB)");
}

function printTrials(rates: TrialRate[]): void {
  log("Trials per second at the empty heap (each loop ~" + f(TRIAL_LOOP_MS / 1000, 0) + " s):");
  table(
    [["loop", 36], ["trials", 7], ["trials/s", 9], ["median ms", 10], ["p90 ms", 7]],
    rates.map((r) => [r.kind, String(r.count), f(r.perSecond, 0), ms(median(r.times)), ms(pct(r.times, 90))]),
  );
  const failed = rates.reduce((a, r) => a + r.failed, 0);
  if (failed) log(`  WARNING: ${failed} trial(s) did not give back the value 1`);
}

function printFaults(results: Result[]): void {
  log("Child page faults (minor, getrusage ru_minflt; medians per round):");
  table(
    [["level", 8], ["snap child before user code", 28], ["bare FFI child at fork()=0", 27], ["C child total", 14],
      ["C scat child total", 19], ["snap child total", 17], ["bare child total", 17], ["snap parent", 12]],
    results.map((r) => [
      r.level.name, f(r.faults.snapBefore, 0), f(r.faults.rawBefore, 0), f(r.faults.cChild, 0), f(r.faults.csChild, 0),
      f(r.faults.snapChild, 0), f(r.faults.rawChild, 0), f(r.faults.snapParent, 0),
    ]),
  );
  log("  snap child before user code: read by the child itself (getrusage RUSAGE_SELF) as the first thing after");
  log("  snapshot() returned true; bare FFI child at fork()=0: the same read right after fork returned 0 in the");
  log("  child; C child total: a C child (_exit(0) at once) over its whole life (average of its rounds).");
  log("  *total: the child's whole life (RUSAGE_CHILDREN); snap parent: this process during a snapshot round");
}

function printRewrite(rw: Rewrite): void {
  const n = rw.none, s = rw.snap, nd = rw.snapNd, b = rw.bare;
  log(`The parent's first write after resume (issue item 3): this process (RSS ${f(rw.rssMiB, 0)} MiB) rewrites ${rw.mib} MiB`);
  log(`of its typed arrays (fill), medians of ${REWRITE_REPS} each, interleaved:`);
  table(
    [["rewrite of " + rw.mib + " MiB", 44], ["ms", 8], ["minor faults", 13], ["round trip + rewrite", 21]],
    [
      ["with no fork since the last write", ms(median(n.ms)), f(median(n.faults), 0), "-"],
      ["right after a snapshot round trip", ms(median(s.ms)), f(median(s.faults), 0), ms(median(s.total))],
      ["  the same, teardown not deferred", ms(median(nd.ms)), f(median(nd.faults), 0), ms(median(nd.total))],
      ["right after a bare FFI fork round trip", ms(median(b.ms)), f(median(b.faults), 0), ms(median(b.total))],
    ],
  );
  const pages = (rw.mib * MiB) / 4096;
  log(`  ${rw.mib} MiB is ${pages} pages of 4 KiB. After a fork every page is write-protected, also once the child`);
  log("  has exited: the first write to each faults (the page is then reused, not copied).");
  log("  A deferred teardown: the parent resumes before the exit helper has let go of the child's pages,");
  log("  and a page it writes meanwhile is copied (the helper still maps it) instead of reused.");
  log(`  The library's own addition to the rewrite: snapshot - bare fork = ${plus(median(s.ms) - median(b.ms))} ms, ${plus(median(s.faults) - median(b.faults), 0)} faults;`);
  log(`  not deferred - bare fork = ${plus(median(nd.ms) - median(b.ms))} ms; round trip + rewrite: snapshot - not deferred = ${plus(median(s.total) - median(nd.total))} ms`);
  log(`  runs (ms): none ${n.ms.map(ms).join(" ")}; snapshot ${s.ms.map(ms).join(" ")}; not deferred ${nd.ms.map(ms).join(" ")}; bare ${b.ms.map(ms).join(" ")}`);
}

function printDetails(results: Result[]): void {
  log("Where the time goes (wall, medians, ms):");
  table(
    [["level", 8], ["snapshot", 9], ["lib fork->reap", 15], ["outside", 8], ["bare fork", 10], ["bare wait", 10], ["bare total", 11], ["C fork", 8]],
    results.map((r) => [
      r.level.name, ms(median(r.snap)), ms(median(r.snapInLib)), ms(median(r.snap) - median(r.snapInLib)),
      ms(median(r.rawFork)), ms(median(r.rawWait)), ms(median(r.raw)), ms(median(r.c)),
    ]),
  );
  log("  lib fork->reap: Outcome.durationMs; outside = snapshot - that (checks, makeForkable, channel, reading it)");
  log("  bare fork: until fork() returned in the parent (page tables copied); bare wait: waitpid until the");
  log("  child's exit (its address space torn down) was reaped");
  log();
  log("CPU per round (parent thread + child, medians, ms): the work, without waits for a busy core. The");
  log("snapshot's columns are of the not-deferred rounds (a deferred child's teardown is its helper's, whose");
  log("CPU time goes to the system's reaper, not to this process); \"deferred\": what this process is charged");
  table(
    [["level", 8], ["C fork", 8], ["C scattered", 12], ["bare FFI", 9], ["snapshot", 9], ["snap/C", 7], ["snap/C scat", 12], ["snap/bare", 10], ["snap-C ms", 10], ["deferred", 9]],
    results.map((r) => {
      const s = median(r.cpu.snapNd), c = median(r.cpu.c), cs = median(r.cpu.cs), rw = median(r.cpu.raw);
      return [r.level.name, ms(c), ms(cs), ms(rw), ms(s), x(s, c), x(s, cs), x(s, rw), plus(s - c), ms(median(r.cpu.snap))];
    }),
  );
  log();
  log("Preparation parts (medians, ms):");
  table(
    [["level", 8], ["makeForkable", 13], ["read maps", 10], ["memfd chan", 11], ["stdio chk", 10], ["Error.stack", 12], ["quiesce", 8],
      ["maps JS/C", 10], ["C RSS", 7]],
    results.map((r) => [
      r.level.name, ms(r.makeForkable), ms(r.mapsRead), ms(r.channel), ms(r.stdioCheck), ms(r.errorStack), ms(r.quiesce),
      `${r.maps}/${r.cMaps}`, f(r.cRssMiB, 0),
    ]),
  );
  log("  makeForkable: one call (every mapping advised); read maps: readFileSync('/proc/self/maps') alone, part of it;");
  log("  memfd chan: openChannel()+receive() alone; stdio chk: pendingStdio(); Error.stack: the caller's stack;");
  log("  quiesce: src/fork/quiesce.ts quiesce() alone (the wait for idle helper threads), n/a where absent;");
  log("  maps: lines of /proc/self/maps, this process / the C process; C RSS: the C process's VmRSS, MiB");
  log();
  log("Rounds (ms):");
  for (const r of results) {
    const show = (xs: number[]) => sorted(xs).map((v) => ms(v)).join(" ");
    const spread = (xs: number[]) => `${xs.map((v) => ms(v)).join(" ")} (max/min ${f(Math.max(...xs) / Math.min(...xs))}x)`;
    log(`  ${r.level.name} block medians: snapshot ${spread(r.blocks.snap)}; not deferred ${spread(r.blocks.snapNd)}; C fork ${spread(r.blocks.c)};`);
    log(`  ${" ".repeat(r.level.name.length)}                C scattered ${spread(r.blocks.cs)}; bare ${spread(r.blocks.raw)}`);
    log(`  ${r.level.name} snapshot:    ${show(r.snap)}`);
    log(`  ${r.level.name} not deferred: ${show(r.snapNd)}`);
    log(`  ${r.level.name} C fork:      ${show(r.c)}`);
    log(`  ${r.level.name} C scattered: ${show(r.cs)}`);
    log(`  ${r.level.name} bare FFI:    ${show(r.raw)}`);
    if (r.clone && r.level.targetMiB > 0) log(`  ${r.level.name} clone:       ${r.clone.runs.map((v) => ms(v)).join(" ")} (${r.clone.how})`);
  }
}

// The bars of issue 16 item 1 on one baseline: empty heap <= baseline + 1 ms, else <= 1.2x.
function barLines(results: Result[], label: string, pick: (r: Result) => { s: number; b: number }, mark: boolean): void {
  for (const r of results) {
    const { s, b } = pick(r);
    const empty = r.level.targetMiB === 0;
    const ok = empty ? s - b <= 1 : s <= 1.2 * b;
    const tag = mark ? `[${ok ? "MET   " : "MISSED"}]` : `(${ok ? "within" : "over  "})`;
    const how = empty ? `${plus(s - b)} ms (bar: <= +1 ms)` : `${f(s / b)}x (bar: <= 1.2x)`;
    log(`  ${tag} ${pad(r.level.name, 7, true)} snapshot ${ms(s)} ms vs ${label} ${ms(b)} ms: ${how}`);
  }
}

function printBars(results: Result[]): void {
  log("Bars of issue 16 (measured facts on this run; nothing fails):");
  log(" Against C fork, wall-time medians (the issue's bar):");
  barLines(results, "C fork", (r) => ({ s: median(r.snap), b: median(r.c) }), true);
  log(" Against C fork, wall-time medians, the teardown not deferred (BUN_SNAPSHOT_DEFER_EXIT=0):");
  barLines(results, "C fork", (r) => ({ s: median(r.snapNd), b: median(r.c) }), false);
  log(" Against C fork, CPU-time medians (same bar, on the whole work of a not-deferred round):");
  barLines(results, "C fork", (r) => ({ s: median(r.cpu.snapNd), b: median(r.cpu.c) }), false);
  log(" For context, the same bar against C scattered (wall):");
  barLines(results, "C scattered", (r) => ({ s: median(r.snap), b: median(r.cs) }), false);
  log(" For context, the same bar against the bare FFI fork of this process (wall): the library's own cost");
  barLines(results, "bare FFI", (r) => ({ s: median(r.snap), b: median(r.raw) }), false);
  const big = results.at(-1)!;
  if (big.clone) {
    const ratio = big.clone.ms / median(big.snap);
    const ok = ratio >= 100;
    const extra = big.clone.how.startsWith("EXTRAPOLATED") ? " (clone time extrapolated, see above)" : "";
    log(` [${ok ? "MET   " : "MISSED"}] ${big.level.name}: structuredClone ${ms(big.clone.ms)} ms vs snapshot ${ms(median(big.snap))} ms: ${f(ratio, 0)}x (bar: >= 100x)${extra}`);
  }
}

async function main(): Promise<void> {
  const why = unsafeReason();
  if (why) throw new Error(`not snapshot-safe (${why}); run with \`bun run bench\``);
  const t0 = performance.now();
  const thp = (() => {
    try {
      return readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "latin1").trim();
    } catch {
      return "n/a";
    }
  })();
  let kernel = "";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "latin1").trim();
  } catch {}
  log(`bun-snapshot round trip bench: Bun ${Bun.version}, Linux ${kernel} ${process.arch}, ${navigator.hardwareConcurrency} cores, THP ${thp}`);
  const loadStart = loadavg();
  const m0 = machineTicks();
  const s0 = selfTicks();
  const git = Bun.spawnSync(["git", "-C", join(import.meta.dir, ".."), "status", "--porcelain", "--", "src"], { stdout: "pipe", stderr: "pipe" });
  const head = Bun.spawnSync(["git", "-C", join(import.meta.dir, ".."), "rev-parse", "--short", "HEAD"], { stdout: "pipe", stderr: "pipe" });
  if (head.exitCode === 0) {
    const dirty = git.stdout.toString().trim().split("\n").filter(Boolean).length;
    log(`library: src/ at ${head.stdout.toString().trim()}${dirty ? ` with ${dirty} uncommitted change(s) in src/` : ""}`);
  }
  setUpC();
  try {
    // Warm the code paths (JIT, FFI) before the baseline RSS is taken.
    makeForkable();
    for (let i = 0; i < 3; i++) snapshotRound();
    for (let i = 0; i < 3; i++) rawRound();
    for (let i = 0; i < 3; i++) trial(() => 1);
    for (let i = 0; i < 3; i++) await trial(async () => 1);
    // Until one exit helper has been seen reaped by the system's reaper, the library follows at most
    // 8 at once (src/sys/exit-c.ts) and children beyond them end plainly: measure after that.
    const p0 = performance.now();
    while (!deferProven() && performance.now() - p0 < 8000) {
      Bun.sleepSync(100);
      snapshotRound();
    }
    log(deferProven() ? `exit helpers: the first seen reaped after ${f((performance.now() - p0) / 1000, 1)} s of waiting` : "exit helpers: none seen reaped within 8 s (children beyond 8 at once end plainly)");
    Bun.gc(true);
    const baseMiB = vmRssMiB();
    const results: Result[] = [];
    let rates: TrialRate[] = [];
    for (const level of LEVELS) {
      results.push(measureLevel(level, baseMiB));
      if (level.targetMiB === 0) {
        // Still at the empty heap (after its round trips, so that their RSS is the empty one).
        note("trials per second at the empty heap");
        rates = await measureTrials();
        Bun.gc(true);
      }
    }
    note(`the parent rewriting ${REWRITE_MIB} MiB after a round trip`);
    const rw = measureRewrite();
    note("structuredClone of the levels' state");
    measureClones(results);
    log();
    printTable(results);
    log();
    printTrials(rates);
    log();
    printFaults(results);
    log();
    printRewrite(rw);
    log();
    printDetails(results);
    log();
    printBars(results);
    if (childFailures) log(`  WARNING: ${childFailures} child(ren) did not exit with status 0`);
    log();
    const loadEnd = loadavg();
    const m1 = machineTicks();
    const others = (m1.busy - m0.busy - (selfTicks() - s0)) / Math.max(1, m1.total - m0.total);
    log(`load average at start ${loadStart}, at end ${loadEnd}; other processes used ${f(Math.max(0, others) * 100, 0)}% of the ${navigator.hardwareConcurrency} cores during the run`);
    if (others > 0.15) {
      const c = results.map((r) => Math.max(...r.blocks.c) / Math.min(...r.blocks.c));
      log(`  NOTE: the machine was busy; the C baseline alone varied up to ${f(Math.max(...c))}x between blocks of the same level,`);
      log("  so ratios near the bars are within noise here (see the block medians and the CPU-time view).");
    }
    log(`done in ${f((performance.now() - t0) / 1000, 1)} s`);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
