// `bun-snapshot doctor`: which Bun APIs work inside a snapshot child on this machine, with this
// Bun and this version of the library. Each API is used in this process first ("warm", as in a
// long-running server, so its helper threads exist), then called in a real trial() child with a
// time limit: it works, fails fast (an error, e.g. a SnapshotError saying it is unavailable in a
// snapshot), or hangs (killed at the limit). Started without the snapshot-safe switches, the
// CLI re-executes itself with them (ensureSafe) before this module is loaded.
import { EXIT, parse } from "./args.ts";
import { Database } from "bun:sqlite";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { trial } from "../api/trial.ts";
import { KNOWN_RELEASES, releaseKnown } from "../bun-internals/release.ts";
import { messages } from "../errors.ts";
import { startEnv, unsafeReason } from "../safe/mode.ts";
import { libcName, libcVersion } from "../sys/ffi.ts";
import { checks, startServers, TIMEOUT_MS, type Check, type Env } from "./doctor/checks.ts";

/** How an API fared in a snapshot child. */
export type DoctorResult = "works" | "fails fast" | "hangs" | "skipped";

/** One API's line of the report. */
export interface DoctorCheck {
  /** The API, as the table names it. */
  api: string;
  result: DoctorResult;
  /** Time taken ("12 ms"), the error ("TypeError: ..."), or why the check was skipped. */
  detail: string;
  /** The child's time from fork to reap in ms; undefined when skipped. */
  ms?: number;
  /** The error the trial returned; undefined unless the result is "fails fast" or "hangs". */
  error?: { name: string; message: string };
  /** How the check was made, where that matters to read the result; undefined otherwise. */
  note?: string;
}

/** The whole report, as `doctor --json` prints it. */
export interface DoctorReport {
  bun: { version: string; revision: string; layoutsKnown: boolean };
  /** os.release(): `uname -r`. */
  kernel: string;
  /** "glibc" or "musl", the library bun-snapshot loaded, and its version (null when unknown). */
  libc: { name: string; path: string; version: string | null };
  /** The BUN_JSC_* variables this process image started with. */
  jscSwitches: Record<string, string>;
  snapshotSafe: boolean;
  /** Why the process is not snapshot-safe; null when it is. */
  unsafeReason: string | null;
  /** This process's threads other than the main one, after the warm-up (names from /proc, a trailing number dropped). */
  threads: { name: string; count: number }[];
  /** Each check's time limit. */
  timeoutMs: number;
  checks: DoctorCheck[];
  /** How many checks hang. */
  hangs: number;
  /** 1 when some API hangs, else 0. */
  exitCode: number;
  /** Wall time of the whole doctor run in ms (warm-up and checks). */
  totalMs: number;
}

// The first line of an error message, not too long for a table.
function oneLine(s: string, max = 160): string {
  const line = s.split("\n")[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const fmtMs = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;

// Runs one check in a trial child and says how it went.
async function runCheck(c: Check): Promise<DoctorCheck> {
  const base = { api: c.api, ...(c.note ? { note: c.note } : {}) };
  if (c.skip) return { ...base, result: "skipped", detail: c.skip };
  let r;
  try {
    r = await trial(c.fn, { timeoutMs: TIMEOUT_MS });
  } catch (e) {
    const err = e instanceof Error ? { name: e.name, message: e.message } : { name: "Error", message: String(e) };
    return { ...base, result: "fails fast", detail: `trial() itself failed: ${err.name}: ${oneLine(err.message)}`, error: err };
  }
  const ms = r.outcome.durationMs;
  if (r.ok) {
    if (c.expect(r.value)) return { ...base, result: "works", detail: fmtMs(ms), ms };
    const err = { name: "UnexpectedValue", message: `returned ${oneLine(Bun.inspect(r.value), 80)}` };
    return { ...base, result: "fails fast", detail: `${err.name}: ${err.message} (${fmtMs(ms)})`, ms, error: err };
  }
  const err = { name: r.error.name, message: r.error.message };
  if (r.error.message === messages.trialTimeout(TIMEOUT_MS))
    return { ...base, result: "hangs", detail: `no result within ${TIMEOUT_MS} ms; child killed`, ms, error: err };
  return { ...base, result: "fails fast", detail: `${err.name}: ${oneLine(err.message)} (${fmtMs(ms)})`, ms, error: err };
}

// This process's threads but the main one, by name (a trailing number dropped), with counts.
function threadCounts(): { name: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    if (tid === String(process.pid)) continue;
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "latin1").trim().replace(/\s*\d+$/, "");
      counts.set(name, (counts.get(name) ?? 0) + 1);
    } catch {}
  }
  return [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([name, count]) => ({ name, count }));
}

// Progress for a person watching a terminal; nothing when stderr is a pipe or a file.
function progress(s: string): void {
  if (process.stderr.isTTY) writeSync(2, s);
}

/** Warms every API, checks each in a snapshot child, and returns the report. */
export async function diagnose(): Promise<DoctorReport> {
  const t0 = performance.now();
  const env: Env = { dir: mkdtempSync(join(tmpdir(), "bun-snapshot-doctor-")), httpPort: 0, httpsPort: null, cleanup: [] };
  const cleanup = () => {
    for (const f of env.cleanup.reverse()) {
      try {
        f();
      } catch {}
    }
    rmSync(env.dir, { recursive: true, force: true });
  };
  try {
    await startServers(env);
    const list = checks(env);
    const reason = unsafeReason();
    // The warm-up: every API once in this process, as a long-running server would have.
    progress("warming up");
    for (const c of list) {
      if (c.skip) continue;
      try {
        const v = await c.fn();
        if (!c.expect(v)) c.skip = `skipped (in this process it returned ${oneLine(Bun.inspect(v), 60)})`;
      } catch (e) {
        c.skip = `skipped (fails in this process too: ${oneLine(e instanceof Error ? `${e.name}: ${e.message}` : String(e), 100)})`;
      }
      progress(".");
    }
    // What a long-running server keeps: a listening server, a live Worker, an open database.
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("kept") });
    env.cleanup.push(() => server.stop(true));
    const kept = new Worker(join(env.dir, "worker.ts"));
    env.cleanup.push(() => kept.terminate());
    await new Promise<void>((res) => {
      kept.onmessage = () => res();
      kept.postMessage(1);
    });
    const db = new Database(":memory:");
    db.query("select 1").get();
    env.cleanup.push(() => db.close());
    const threads = threadCounts();
    progress("\n");

    const results: DoctorCheck[] = [];
    for (const c of list) {
      progress(`${c.api} ... `);
      const r = reason ? { api: c.api, result: "skipped" as const, detail: `skipped (not snapshot-safe: ${reason})` } : await runCheck(c);
      progress(`${r.result}\n`);
      results.push(r);
    }
    cleanup();
    const hangs = results.filter((r) => r.result === "hangs").length;
    const path = libcName();
    return {
      bun: { version: Bun.version, revision: Bun.revision, layoutsKnown: releaseKnown() },
      kernel: release(),
      libc: { name: path.includes("musl") ? "musl" : "glibc", path, version: libcVersion() },
      jscSwitches: Object.fromEntries([...startEnv()].filter(([k]) => k.startsWith("BUN_JSC_")).sort()),
      snapshotSafe: reason === null,
      unsafeReason: reason,
      threads,
      timeoutMs: TIMEOUT_MS,
      checks: results,
      hangs,
      exitCode: hangs > 0 || reason !== null ? 1 : 0,
      totalMs: Math.round(performance.now() - t0),
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

// The header facts as label/value pairs.
function facts(r: DoctorReport): [string, string][] {
  const switches = Object.entries(r.jscSwitches).map(([k, v]) => `${k}=${v}`);
  return [
    ["Bun", `${r.bun.version} (revision ${r.bun.revision})`],
    [
      "Bun layouts",
      r.bun.layoutsKnown
        ? "known: this release was run through the whole test suite"
        : `not known (known: ${Object.keys(KNOWN_RELEASES).join(", ")}): each repair proves its layout at run time and otherwise fails fast`,
    ],
    ["kernel", r.kernel],
    ["libc", `${r.libc.name}${r.libc.version ? ` ${r.libc.version}` : ""} (${r.libc.path})`],
    ["JSC switches", switches.length ? switches.join(" ") : "none"],
    ["snapshot-safe", r.snapshotSafe ? "yes" : `no: ${r.unsafeReason}`],
    ["helper threads", r.threads.map((t) => `${t.name} ×${t.count}`).join(", ") || "none"],
  ];
}

const summary = (r: DoctorReport) =>
  `Each API was used in this process first (warm, as in a long-running server), then called in a snapshot child (trial, ${r.timeoutMs} ms limit). ` +
  `${r.hangs} of ${r.checks.length} hang; doctor took ${(r.totalMs / 1000).toFixed(1)} s.`;

// The detail column: the detail, and the note on how it was checked.
const detailOf = (c: DoctorCheck) => (c.note ? `${c.detail} [${c.note}]` : c.detail);

/** The report as a plain aligned text table. */
export function formatText(r: DoctorReport): string {
  const f = facts(r);
  const w = Math.max(...f.map(([k]) => k.length));
  const head = f.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n");
  const rows = [["API", "result", "detail"], ...r.checks.map((c) => [c.api, c.result, detailOf(c)])];
  const w0 = Math.max(...rows.map((x) => x[0]!.length));
  const w1 = Math.max(...rows.map((x) => x[1]!.length));
  const table = rows.map(([a, b, c]) => `${a!.padEnd(w0)}  ${b!.padEnd(w1)}  ${c}`.trimEnd()).join("\n");
  return `bun-snapshot doctor\n${head}\n\n${table}\n\n${summary(r)}\n`;
}

// A Markdown table cell: no pipes or line breaks.
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The report as Markdown: the facts as a list, then a table. */
export function formatMarkdown(r: DoctorReport): string {
  const head = facts(r)
    .map(([k, v]) => `- ${k}: ${cell(v)}`)
    .join("\n");
  const table = ["| API | result | detail |", "|---|---|---|", ...r.checks.map((c) => `| \`${cell(c.api)}\` | ${c.result} | ${cell(detailOf(c))} |`)].join("\n");
  return `${head}\n\n${table}\n\n${summary(r)}\n`;
}

export const DOCTOR_USAGE = `Usage: bun-snapshot doctor [--json | --markdown]

What works on this machine and this Bun, and why not: which Bun APIs work, fail fast or hang
in a snapshot child (each tried in a real one).

Options:
  --json        the report as JSON
  --markdown    the report as a Markdown table
  -h, --help    this text

Exit status: 0 nothing hangs, 1 an API hangs in a snapshot child, 2 usage error.
`;

/** `bun-snapshot doctor [--json | --markdown]`: prints the report; returns the exit code (1 when an API hangs). */
export async function doctor(args: string[]): Promise<number> {
  const p = parse(args, { json: { type: "boolean" }, markdown: { type: "boolean" }, help: { type: "boolean", short: "h" } });
  if ("error" in p || p.positionals.length || (p.values.json && p.values.markdown)) {
    const why = "error" in p ? p.error : p.positionals.length ? `unexpected ${p.positionals.join(" ")}` : "--json or --markdown, not both";
    writeSync(2, `bun-snapshot doctor: ${why}\n${DOCTOR_USAGE}`);
    return EXIT.usage;
  }
  if (p.values.help) {
    writeSync(1, DOCTOR_USAGE);
    return EXIT.done;
  }
  const format = p.values.json ? "json" : p.values.markdown ? "markdown" : "text";
  const r = await diagnose();
  const out = format === "json" ? `${JSON.stringify(r, null, 2)}\n` : format === "markdown" ? formatMarkdown(r) : formatText(r);
  writeSync(1, out);
  return r.exitCode;
}
