// Isolation done by the native fork (src/sys/fork-c.ts isolate(), the rules of isolate.ts): the
// policy as plan flags, and in the child what is left for JavaScript: the report (decoded when
// first read), the database guard when a database was open, the message when a descriptor could
// not be made the child's own. Where the native tables were too small, isolate.ts does it all.
import { protectDatabases } from "../bun-internals/sqlite.ts";
import { messages, syscallError } from "../errors.ts";
import type { Isolation } from "../options.ts";
import { writeSync } from "node:fs";
import { isolate, reports, type IsolationReport } from "./isolate.ts";
import { F, nativeText, OUT, OVERFLOW, type NativeResult } from "./native.ts";

// What each failure code of the native part was doing (fork-c.ts W_*).
const WHAT = ["", "socket", "pipe", "file", "epoll", "wake-up descriptor"];

/** The isolation policy as the native plan's flags; `deaf` for a trial (see isolate()). */
export function isolationFlags(o: Isolation, deaf: boolean): number {
  return (
    F.ISOLATE |
    (o.files === "shared" ? F.FILES_SHARED : 0) |
    (o.connections === "shared" ? F.CONN_SHARED : 0) |
    (o.listeners === "closed" ? F.LISTENERS_CLOSED : 0) |
    (o.databases === "writable" ? F.DB_WRITABLE : 0) |
    (o.databases === "copy" ? F.DB_COPY : 0) |
    (deaf ? F.DEAF : 0)
  );
}

// `n` entries of `width` numbers from slot `at` (at most `cap` were written).
function entries(o: Float64Array, count: number, at: number, cap: number, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < Math.min(o[count]!, cap); i++) out.push(Array.from(o.subarray(at + i * width, at + (i + 1) * width)));
  return out;
}

// The report from the native part's out slots (text read now: only the rare cases have any).
function decode(o: Float64Array, texts: Map<number, string>): IsolationReport {
  const text = (at: number) => texts.get(at) ?? "";
  const dbs = entries(o, OUT.NDB, OUT.DB, 32, 3);
  return {
    epolls: o[OUT.EPOLLS]!,
    registrations: o[OUT.REGS]!,
    wakeups: o[OUT.WAKEUPS]!,
    files: o[OUT.FILES]!,
    databases: dbs.filter(([, unsafe]) => !unsafe).map(([, , at]) => text(at!)),
    unsafeDatabases: [...new Set(dbs.filter(([, unsafe]) => unsafe).map(([, , at]) => text(at!)))],
    deadEnds: entries(o, OUT.NDEAD, OUT.DEAD, 32, 3).map(([fd]) => fd!),
    cut: o[OUT.CUT]!,
    listenersClosed: o[OUT.LCLOSED]!,
    kept: Array.from(o.subarray(OUT.KEPT, OUT.KEPT + Math.min(o[OUT.NKEPT]!, 64))),
    failed: entries(o, OUT.NFAILED, OUT.FAIL, 64, 3).map(([fd, what, errno]) => ({ fd: fd!, what: WHAT[what!] ?? "", error: syscallError(WHAT[what!] || "isolate", errno!).message })),
  };
}

/**
 * In the parent, planning a native fork: what the child does once the native part has isolated
 * it (what `keep` and `deaf` are, see isolate()). In the common case (no database, nothing
 * failed) it only records the report, decoded when first read; the function is made here so that
 * the child allocates nothing.
 */
export function afterNativeIsolation(result: NativeResult, o: Isolation, keep: number[], deaf: boolean): (dry?: boolean) => void {
  const report = () => decode(result.out, new Map());
  return (dry) => {
    const out = result.out;
    const plain = out[OUT.NDB] === 0 && out[OUT.NDEAD] === 0 && out[OUT.NFAILED] === 0 && out[OUT.STATUS] !== OVERFLOW;
    if (dry) return;
    if (plain) reports.last = report;
    else finishIsolation(result, o, keep, deaf);
  };
}

/** A plain child's one write for the isolation (see native.ts enterPlainly): the report, made when first read. */
export function plainIsolationWrite(result: NativeResult): [object, string, () => IsolationReport] {
  return [reports, "last", () => decode(result.out, new Map())];
}

// The rare cases: the tables were too small, a database was open, a descriptor failed.
function finishIsolation(result: NativeResult, o: Isolation, keep: number[], deaf: boolean): void {
  const out = result.out;
  if (out[OUT.STATUS] === OVERFLOW) {
    // More descriptors than the native tables: JavaScript does it all, from each instance's own
    // registrations (the parent's read was too large to keep).
    isolate(o, keep, undefined, deaf);
    return;
  }
  const texts = new Map<number, string>();
  for (const [, , at] of [...entries(out, OUT.NDB, OUT.DB, 32, 3), ...entries(out, OUT.NDEAD, OUT.DEAD, 32, 3)]) texts.set(at!, nativeText(result, at!));
  const r = decode(out, texts);
  reports.last = r;
  if (r.databases.length || r.unsafeDatabases.length) protectDatabases(r.unsafeDatabases, o.databases === "copy");
  const told = entries(out, OUT.NDEAD, OUT.DEAD, 32, 3).map(([fd, errno, at]) => `fd ${fd} ${texts.get(at!) ?? ""}: ${syscallError("open", errno!).message}`);
  for (const f of r.failed) told.push(`fd ${f.fd} (${f.what || "unknown"}): ${f.error}`);
  if (told.length) {
    try {
      writeSync(2, messages.isolationFailed(told) + "\n");
    } catch {}
  }
}
