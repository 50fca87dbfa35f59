// Keeping Bun's runtime whole in the child: the helper threads that
// do not exist there. Bun's work pool ("Bun Pool N") and HTTP client thread ("HTTP Client") start
// lazily and never exit; the child has neither, and every API on them would wait forever.
//
// In the parent, prepareRuntime() only reads: which helpers ran, and where their state is (found
// once per process, kept in process-wide state that children inherit). In the child,
// repairRuntime() re-checks that state in the child's own memory and, where it holds, gives the
// child's copy the state of a helper that never started, so the child starts its own. Where it
// does not hold, the APIs on that helper fail fast with a SnapshotError (./fallback.ts). Helpers
// the parent never started are left alone: the child starts them as any process would.
//
// Work in flight on the parent's helper threads at the fork (a pending readFile, fetch, ...)
// never completes in the child: the threads running it are gone.
import { messages, SnapshotError } from "../errors.ts";
import { listFds } from "../proc/fds.ts";
import { threads, threadSyscall, type ThreadInfo } from "../proc/threads.ts";
import { liveMemory } from "../sys/mem.ts";
import { isListening, socketDomain } from "../sys/socket.ts";
import { failFastHttp, failFastPool } from "./fallback.ts";
import { checkHttpOnce, findHttpOnce, forgetInheritedSockets, HTTP_WHY, resetHttpOnce, type HttpProof } from "./http.ts";
import { checkZigHttpOnce, findZigHttpOnce, resetZigHttpOnce, type ZigHttpProof } from "./http-zig.ts";
import { liveImage, type ProcessImage } from "./image.ts";
import { checkPool, findPool, POOL_WHY, poolFields, resetPool, watchPool, type PoolLayout } from "./workpool.ts";

/** One helper thread as the parent saw it before the fork. */
export type HelperPrep<T> =
  /** The parent never started it: nothing to repair. */
  | { kind: "cold" }
  /** It ran, and its state is at a proven place. */
  | { kind: "proven"; proof: T }
  /** It ran, and its state could not be proven: the child fails fast. */
  | { kind: "unproven"; why: string };

/** The HTTP thread's start flag, as proven: the Rust statics (Bun 1.4) or the Zig once (Bun 1.2/1.3). */
export type HttpStart = { rust: HttpProof } | { zig: ZigHttpProof };

/** What the parent learned before the fork that the child's repairs need. */
export interface RuntimePrep {
  pool: HelperPrep<PoolLayout>;
  http: HelperPrep<HttpStart>;
  /** The parent held TCP connections (maybe node:http keep-alive sockets); with the native fork the child counts them. */
  connections: boolean;
  /** Time the parent spent finding the helpers' state for this snapshot, ms (0 once known). */
  scanMs: number;
  /** The repairs are turned off (BUN_SNAPSHOT_REPAIR=0): the child only fails fast. */
  disabled?: true;
}

/** What repairRuntime() did in this child, for tests and tools. */
export interface RuntimeReport {
  /** "repaired", "cold" (never started in the parent), "unused" (started but the child's copy needed nothing) or "failing fast: <why>". */
  pool: string;
  http: string;
  /** node:http agents were made to forget their inherited keep-alive sockets. */
  agents: boolean;
  /** Time the parent spent finding the helpers' state for this snapshot, ms (0 once known). */
  scanMs: number;
  /** Time repairRuntime() took in the child, ms. */
  repairMs: number;
}

/** Process-wide: what was proven (children inherit it), under a Symbol.for key so two copies of the package agree. */
interface Known {
  pool?: PoolLayout;
  http?: HttpStart;
  /** The report, or the function that makes it when first read. */
  report?: RuntimeReport | (() => RuntimeReport);
}
const KEY = Symbol.for("bun-snapshot.runtime.v2");
function known(): Known {
  const g = globalThis as { [KEY]?: Known };
  return (g[KEY] ??= {});
}

// BUN_SNAPSHOT_REPAIR=0 turns the repairs off, so that the fail-fast path can be seen and tested.
const REPAIR = process.env["BUN_SNAPSHOT_REPAIR"] !== "0";
// BUN_SNAPSHOT_MUTATE_PROOF=pool|http hands the child a wrong proof (its maxThreads, or its
// thread handle / start flag, off by one step), so that tests see the child's check refuse it.
const MUTATE = process.env["BUN_SNAPSHOT_MUTATE_PROOF"];
function mutated<T>(which: string, proof: T, wrong: (p: T) => T): T {
  return MUTATE === which ? wrong(proof) : proof;
}
const AF_INET = 2;
const AF_INET6 = 10;
const DISABLED = "repair disabled by BUN_SNAPSHOT_REPAIR=0";

// The proof that holds on this Bun: the Rust statics first (one pass over the data), else the Zig
// once (a scan of the code, ~30 ms, once per process); else both reasons.
function findHttp(img: ProcessImage, tid: number): HttpStart | string {
  const rust = findHttpOnce(img, tid);
  if (typeof rust !== "string") return { rust };
  const zig = findZigHttpOnce(img, tid, threadSyscall(tid)?.sp ?? 0);
  if (typeof zig !== "string") return { zig };
  return `${rust}; ${zig}`;
}

function checkHttp(img: ProcessImage, h: HttpStart): string {
  return "rust" in h ? checkHttpOnce(img, h.rust) : checkZigHttpOnce(img, h.zig);
}

function resetHttp(h: HttpStart): void {
  if ("rust" in h) resetHttpOnce(liveMemory, h.rust);
  else resetZigHttpOnce(liveMemory, h.zig);
}

// This process holds a TCP connection (maybe a node:http keep-alive socket): a socket of the
// IPv4 or IPv6 family that is not listening.
function hasConnections(): boolean {
  return listFds().some(({ fd, link }) => {
    if (!link.startsWith("socket:")) return false;
    const domain = socketDomain(fd);
    return (domain === AF_INET || domain === AF_INET6) && !isListening(fd);
  });
}

/**
 * In the parent, just before the fork: reads (never writes) what the child's repairs need. The
 * helpers' state is searched for once per process, at the first snapshot where they run; the
 * child checks it (in its own memory, as it was at the fork) before it writes anything.
 */
export function prepareRuntime(countConnections = true, all: ThreadInfo[] = threads()): RuntimePrep {
  const k = known();
  const names = k.pool && k.http ? [] : all; // once both are proven, their threads need not be counted
  const poolThreads = names.filter((t) => t.name.startsWith("Bun Pool")).length;
  const httpTid = names.find((t) => t.name === "HTTP Client")?.tid ?? 0;
  const prep: RuntimePrep = { pool: { kind: "cold" }, http: { kind: "cold" }, connections: countConnections && hasConnections(), scanMs: 0 };
  let img: ProcessImage | undefined;
  const t0 = performance.now();
  if (!k.pool && poolThreads > 0) {
    img = liveImage();
    const found = findPool(img, poolThreads);
    if (typeof found === "string") prep.pool = { kind: "unproven", why: found };
    else k.pool = found;
  }
  if (k.pool) prep.pool = { kind: "proven", proof: mutated("pool", k.pool, (p) => ({ ...p, maxThreads: p.maxThreads + 1 })) };
  if (!k.http && httpTid > 0) {
    img ??= liveImage();
    const found = findHttp(img, httpTid);
    if (typeof found === "string") prep.http = { kind: "unproven", why: found };
    else k.http = found;
  }
  if (k.http) prep.http = { kind: "proven", proof: mutated("http", k.http, (h) => ("rust" in h ? { rust: { ...h.rust, pthread: h.rust.pthread + 8 } } : { zig: { lock: h.zig.lock + 4 } })) };
  if (img) prep.scanMs = performance.now() - t0;
  if (!REPAIR) prep.disabled = true;
  return prep;
}

// The pool in the child: re-checked in the child's own copy, then reset; else failing fast, and
// where the pool's place is known, watched for work that no thread will run.
function repairPool(prep: HelperPrep<PoolLayout>, img: () => ProcessImage, disabled: boolean): string {
  if (prep.kind === "cold") return "cold";
  let state = prep.kind === "proven" ? checkPool(img(), prep.proof) : prep.why;
  if (typeof state !== "string" && state.spawned === 0) return "unused";
  if (disabled) state = DISABLED;
  if (typeof state === "string") {
    if (prep.kind === "proven") return failPool(prep.proof, state);
    failFastPool(state);
    return `failing fast: ${state}`;
  }
  resetPool(liveMemory, (prep as { proof: PoolLayout }).proof);
  return "repaired";
}

// The HTTP thread in the child: the same (fetch fails fast; no watch).
function repairHttp(prep: HelperPrep<HttpStart>, img: () => ProcessImage, disabled: boolean): string {
  if (prep.kind === "cold") return "cold";
  let state = prep.kind === "proven" ? checkHttp(img(), prep.proof) : prep.why;
  if (state === "incomplete") return "unused";
  if (disabled) state = DISABLED;
  if (state !== "complete") return failHttp(state);
  resetHttp((prep as { proof: HttpStart }).proof);
  return "repaired";
}

// The HTTP thread the child cannot repair: fetch fails fast.
function failHttp(why: string): string {
  failFastHttp(why);
  return `failing fast: ${why}`;
}

// A proven pool the child cannot repair: its APIs fail fast, and work queued to it is noticed.
function failPool(proof: PoolLayout, why: string): string {
  failFastPool(why);
  watchPool(liveMemory, proof, () => {
    throw new SnapshotError("ENOTSUP", messages.poolStuck(why));
  });
  return `failing fast: ${why}`;
}

/** In the child, before user code: makes the runtime's helper threads usable again. */
export function repairRuntime(prep: RuntimePrep): void {
  const t0 = performance.now();
  let cached: ProcessImage | undefined;
  const img = () => (cached ??= liveImage());
  const k = known();
  const report: RuntimeReport = {
    pool: repairPool(prep.pool, img, prep.disabled === true),
    http: repairHttp(prep.http, img, prep.disabled === true),
    agents: false,
    scanMs: prep.scanMs,
    repairMs: 0,
  };
  if (prep.connections) {
    forgetInheritedSockets();
    report.agents = true;
  }
  report.repairMs = performance.now() - t0;
  k.report = report;
}

/** What the native fork checks and writes in the child: the proven helpers' fields (fork-c.ts P_POOL, P_HTTP). */
export interface NativeRepair {
  pool?: number[];
  http?: { rust: number[] } | { zig: number[] };
}

/** The proofs for the native fork's checks (none when the repairs are off: the child then fails fast in JS). */
export function nativeRepair(prep: RuntimePrep): NativeRepair {
  if (prep.disabled) return {};
  const r: NativeRepair = {};
  if (prep.pool.kind === "proven") r.pool = poolFields(prep.pool.proof);
  if (prep.http.kind === "proven") {
    const h = prep.http.proof;
    r.http = "rust" in h ? { rust: [h.rust.slot, h.rust.pthread, h.rust.once] } : { zig: [h.zig.lock] };
  }
  return r;
}

/** What the native fork's checks found in the child: codes (0 repaired, 100 unused, else POOL_WHY / HTTP_WHY). */
export interface NativeRepairResult {
  pool: number;
  poolListed: number;
  poolSpawned: number;
  http: number;
  httpValue: number;
  /** TCP connections the child inherited. */
  connections: boolean;
  repairMs: number;
}

/**
 * In the parent, planning a native fork: what the child does once the native part has checked
 * (and where sound, reset) the helpers: nothing in the common case (repaired or unused, no TCP
 * connection inherited) but record the report, made when first read; else the fail-fast paths.
 */
export function finishRuntime(prep: RuntimePrep, result: () => NativeRepairResult): (dry?: boolean) => void {
  const fine = (code: number) => code === 0 || code === 100;
  const sound = provable(prep);
  const report = () => reportOf(prep, result());
  return (dry) => {
    const r = result();
    const plain = sound && fine(r.pool) && fine(r.http) && !r.connections;
    const k = known();
    if (dry) return;
    if (plain) k.report = report;
    else finishSlowly(prep, r);
  };
}

/**
 * A plain child's one write for the helpers (the native part found them repaired or unused, and
 * no TCP connection): the report, made when first read; undefined when a proof was missing or
 * the repairs are off (the child then needs finishRuntime()).
 */
export function plainRuntimeWrite(prep: RuntimePrep, result: () => NativeRepairResult): [object, string, () => RuntimeReport] | undefined {
  if (!provable(prep)) return undefined;
  return [known(), "report", () => reportOf(prep, result())];
}

// Whether the native part's checks can settle the helpers: repairs on, no proof missing.
function provable(prep: RuntimePrep): boolean {
  return !prep.disabled && prep.pool.kind !== "unproven" && prep.http.kind !== "unproven";
}

// The report of a child whose helpers were all repaired or unused.
function reportOf(prep: RuntimePrep, r: NativeRepairResult): RuntimeReport {
  const name = (kind: string, code: number) => (kind === "cold" ? "cold" : code === 0 ? "repaired" : "unused");
  return { pool: name(prep.pool.kind, r.pool), http: name(prep.http.kind, r.http), agents: false, scanMs: prep.scanMs, repairMs: r.repairMs };
}

// The child's helpers when one could not be repaired, or TCP connections were inherited.
function finishSlowly(prep: RuntimePrep, r: NativeRepairResult): void {
  const t0 = performance.now();
  const disabled = prep.disabled === true;
  let img: ProcessImage | undefined;
  const image = () => (img ??= liveImage()); // one read of the maps for both
  const pool =
    prep.pool.kind !== "proven" || disabled ? repairPool(prep.pool, image, disabled)
    : r.pool === 0 ? "repaired"
    : r.pool === 100 ? "unused"
    : failPool(prep.pool.proof, POOL_WHY[r.pool]?.(r.poolListed, r.poolSpawned) ?? `check code ${r.pool}`);
  const http =
    prep.http.kind !== "proven" || disabled ? repairHttp(prep.http, image, disabled)
    : r.http === 0 ? "repaired"
    : r.http === 100 ? "unused"
    : failHttp(HTTP_WHY[r.http]?.(r.httpValue) ?? `check code ${r.http}`);
  if (r.connections) forgetInheritedSockets();
  known().report = { pool, http, agents: r.connections, scanMs: prep.scanMs, repairMs: r.repairMs + performance.now() - t0 };
}

/** What repairRuntime() did in this process (undefined at depth 0 or before the first snapshot). */
export function runtimeReport(): RuntimeReport | undefined {
  const k = known();
  if (typeof k.report === "function") k.report = k.report();
  return k.report;
}
