// `bun-snapshot doctor`: which Bun APIs work inside a snapshot child on this machine, with this
// Bun and this version of the library. Each API is used in this process first ("warm", as in a
// long-running server, so its helper threads exist), then called in a real trial() child with a
// time limit: it works, fails fast (an error, e.g. a SnapshotError saying it is unavailable in a
// snapshot), or hangs (killed at the limit). Started without the snapshot-safe switches, the
// CLI re-executes itself with them (ensureSafe) before this module is loaded.
import { Database } from "bun:sqlite";
import { lookup as dnsLookup } from "node:dns";
import { readFile as readFileCb, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { readFile as readFileP } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzip } from "node:zlib";
import { isUnwind } from "../child/exit.ts";
import { messages } from "../errors.ts";
import { libcName, libcVersion } from "../libc.ts";
import { startEnv, unsafeReason } from "../safe.ts";
import { inSnapshot } from "../snapshot.ts";
import { trial } from "../trial.ts";

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
  bun: { version: string; revision: string };
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

const TIMEOUT_MS = 3000;
const BODY = "bun-snapshot doctor file body\n";

// One API to check: `fn` runs once in this process (the warm-up), then in a trial child.
interface Check {
  api: string;
  fn: () => unknown;
  expect: (v: unknown) => boolean;
  note?: string;
  /** Why the check cannot run on this machine; set during the set-up. */
  skip?: string;
}

// What the set-up made: a temp dir, the local servers, the things a long-running server keeps.
interface Env {
  dir: string;
  httpPort: number;
  httpsPort: number | null;
  noHttps?: string;
  cleanup: (() => void)[];
}

// A local server process for the fetch and node:http checks: the client is measured alone, not
// also the child's ability to answer its own request (this process is blocked in trial()).
const SERVER_SRC = `
const dir = process.argv[2];
const tls = process.argv[3] === "tls";
const answer = () => new Response("ok");
const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: answer });
const https = tls ? Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { key: Bun.file(dir + "/k"), cert: Bun.file(dir + "/c") }, fetch: answer }) : null;
console.log(JSON.stringify({ http: http.port, https: https ? https.port : null }));
for await (const _ of Bun.stdin.stream()) {}
process.exit(0);
`;

// Makes a self-signed certificate in `dir` (k, c); returns why not when it cannot.
function makeCert(dir: string): string | undefined {
  const openssl = Bun.which("openssl");
  if (!openssl) return "skipped (no openssl)";
  const r = Bun.spawnSync([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k"), "-out", join(dir, "c"), "-days", "1", "-subj", "/CN=localhost"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) return `skipped (openssl failed: ${r.stderr.toString().trim().split("\n")[0]})`;
  return undefined;
}

// Starts the server process and waits for the ports it printed.
async function startServers(env: Env): Promise<void> {
  env.noHttps = makeCert(env.dir);
  const script = join(env.dir, "server.ts");
  writeFileSync(script, SERVER_SRC);
  const proc = Bun.spawn([process.execPath, script, env.dir, env.noHttps ? "" : "tls"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  env.cleanup.push(() => proc.kill("SIGKILL"));
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  reader.releaseLock();
  const ports = JSON.parse(text.split("\n")[0] || "null") as { http: number; https: number | null } | null;
  if (!ports) throw new Error("bun-snapshot doctor: the local test server did not start");
  env.httpPort = ports.http;
  env.httpsPort = ports.https;
}

// GET / over a raw TCP connection (Bun.connect), not fetch: the response body.
function rawGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
        data: (_s, d) => void (buf += d.toString()),
        close: () => resolve(buf.slice(buf.indexOf("\r\n\r\n") + 4)),
        error: (_s, e) => reject(e),
        connectError: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
}

// A new Bun.serve whose answer is a file body, asked once over raw TCP, then stopped.
async function serveFile(file: string): Promise<string> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(Bun.file(file)) });
  try {
    return await rawGet(server.port!);
  } finally {
    server.stop(true);
  }
}

// One Worker round trip: 21 in, 42 back.
// In the original process the answer waits for the Worker's "close": Bun joins a terminated
// Worker's thread later, from the event loop, and a snapshot taken before that join leaves the
// child a stale join on a recycled thread (it aborts or hangs). In a snapshot child "close" never
// comes (terminate() does not finish there), so the child does not wait for it.
function workerRoundTrip(script: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script);
    w.onmessage = (e) => {
      if (inSnapshot()) resolve(e.data);
      else w.addEventListener("close", () => resolve(e.data));
      w.terminate();
    };
    w.onerror = (e) => {
      reject(new Error(e.message));
      w.terminate();
    };
    w.postMessage(21);
  });
}

// The checks, in the order of the report.
function checks(env: Env): Check[] {
  const file = join(env.dir, "data.txt");
  writeFileSync(file, BODY);
  const kib = new Uint8Array(1024).map((_, i) => i & 0xff);
  const kibHash = new Bun.CryptoHasher("sha256").update(kib).digest("hex");
  const worker = join(env.dir, "worker.ts");
  writeFileSync(worker, "self.onmessage = (e) => postMessage(e.data * 2);\n");
  let modules = 0;
  const httpUrl = `http://127.0.0.1:${env.httpPort}/`;
  const isOk = (v: unknown) => v === "ok";
  const isBody = (v: unknown) => v === BODY;
  return [
    { api: "fetch (http)", fn: () => fetch(httpUrl).then((r) => r.text()), expect: isOk },
    {
      api: "fetch (https)",
      fn: () => fetch(`https://127.0.0.1:${env.httpsPort}/`, { tls: { rejectUnauthorized: false } }).then((r) => r.text()),
      expect: isOk,
      note: "self-signed certificate, rejectUnauthorized: false",
      ...(env.noHttps ? { skip: env.noHttps } : {}),
    },
    { api: "Bun.file().text()", fn: () => Bun.file(file).text(), expect: isBody },
    { api: "fs.promises.readFile", fn: () => readFileP(file, "utf8"), expect: isBody },
    {
      api: "fs.readFile (callback)",
      fn: () => new Promise((res, rej) => readFileCb(file, "utf8", (e, s) => (e ? rej(e) : res(s)))),
      expect: isBody,
    },
    {
      api: "crypto.subtle.digest (1 KiB)",
      fn: () => crypto.subtle.digest("SHA-256", kib).then((b) => Buffer.from(b).toString("hex")),
      expect: (v) => v === kibHash,
    },
    {
      api: "Bun.dns.lookup",
      fn: () => Bun.dns.lookup("localhost").then((a) => a.map((x) => x.address)),
      expect: (v) => Array.isArray(v) && v.length > 0,
    },
    {
      api: "dns.lookup (callback)",
      fn: () => new Promise((res, rej) => dnsLookup("localhost", (e, address) => (e ? rej(e) : res(address)))),
      expect: (v) => typeof v === "string" && v.length > 0,
    },
    {
      api: "zlib.gzip (callback)",
      fn: () => new Promise((res, rej) => gzip(BODY, (e, z) => (e ? rej(e) : res(gunzipSync(z).toString())))),
      expect: isBody,
    },
    {
      api: "Bun.password.hash",
      fn: () => Bun.password.hash("doctor", { algorithm: "bcrypt", cost: 4 }),
      expect: (v) => typeof v === "string" && v.startsWith("$2"),
      note: "bcrypt, cost 4",
    },
    {
      api: "import() of a new file",
      fn: () => {
        const path = join(env.dir, `mod-${process.pid}-${++modules}-${Math.random().toString(36).slice(2)}.ts`);
        writeFileSync(path, "export const answer: number = 42;\n");
        return import(path).then((m: { answer: number }) => m.answer);
      },
      expect: (v) => v === 42,
    },
    {
      api: "node:http get",
      fn: () =>
        new Promise((res, rej) => {
          httpGet(httpUrl, { agent: false }, (r) => {
            let s = "";
            r.setEncoding("utf8");
            r.on("data", (d: string) => (s += d));
            r.on("end", () => res(s));
            r.on("error", rej);
          }).on("error", rej);
        }),
      expect: isOk,
      // With the default agent a child reuses the parent's idle keep-alive socket, and the
      // result depends on its state (the server may have closed it: EPIPE): not a stable check.
      note: "a new connection (agent: false)",
    },
    {
      api: "Bun.serve (file body)",
      fn: () => serveFile(file),
      expect: isBody,
      note: "a new server answering new Response(Bun.file()), asked over raw Bun.connect (not fetch, which may hang)",
    },
    {
      api: "bun:sqlite",
      fn: () => {
        const db = new Database(":memory:");
        const row = db.query("select 6 * 7 as x").get() as { x: number };
        db.close();
        return row.x;
      },
      expect: (v) => v === 42,
    },
    { api: "Worker", fn: () => workerRoundTrip(worker), expect: (v) => v === 42, note: "a new Worker, one postMessage round trip" },
    {
      api: "Bun.spawn",
      fn: () => {
        const p = Bun.spawn(["echo", "doctor"], { stdout: "pipe", stderr: "ignore" });
        return new Response(p.stdout).text();
      },
      expect: (v) => v === "doctor\n",
    },
    {
      api: "Bun.write + readFileSync",
      fn: async () => {
        const path = join(env.dir, `write-${process.pid}.txt`);
        await Bun.write(path, BODY);
        return readFileSync(path, "utf8");
      },
      expect: isBody,
    },
    { api: "setTimeout", fn: () => new Promise((res) => setTimeout(() => res("tick"), 10)), expect: (v) => v === "tick" },
    {
      api: "Bun.gc(true)",
      fn: () => {
        let junk: object[] = [];
        for (let i = 0; i < 200_000; i++) junk.push({ i });
        junk = [];
        Bun.gc(true);
        return junk.length === 0;
      },
      expect: (v) => v === true,
      note: "after 200k allocations",
    },
  ];
}

// The first line of an error message, not too long for a table.
function oneLine(s: string, max = 160): string {
  const line = s.split("\n")[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const fmtMs = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;

// Runs one check in a trial child and says how it went.
function runCheck(c: Check): DoctorCheck {
  const base = { api: c.api, ...(c.note ? { note: c.note } : {}) };
  if (c.skip) return { ...base, result: "skipped", detail: c.skip };
  let r;
  try {
    r = trial(c.fn, { timeoutMs: TIMEOUT_MS });
  } catch (e) {
    if (isUnwind(e)) throw e; // this is the trial child on its way to its event loop
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
  // Not a `finally`: a trial child unwinds through this function, and must not remove the temp
  // dir or stop the servers that the parent and the next children still use.
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
      const r = reason ? { api: c.api, result: "skipped" as const, detail: `skipped (not snapshot-safe: ${reason})` } : runCheck(c);
      progress(`${r.result}\n`);
      results.push(r);
    }
    cleanup();
    const hangs = results.filter((r) => r.result === "hangs").length;
    const path = libcName();
    return {
      bun: { version: Bun.version, revision: Bun.revision },
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
    if (!isUnwind(e)) cleanup();
    throw e;
  }
}

// The header facts as label/value pairs.
function facts(r: DoctorReport): [string, string][] {
  const switches = Object.entries(r.jscSwitches).map(([k, v]) => `${k}=${v}`);
  return [
    ["Bun", `${r.bun.version} (revision ${r.bun.revision})`],
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

const USAGE = "usage: bun-snapshot doctor [--json | --markdown]\n";

/** `bun-snapshot doctor [--json | --markdown]`: prints the report; returns the exit code (1 when an API hangs). */
export async function doctor(args: string[]): Promise<number> {
  const format = args.includes("--json") ? "json" : args.includes("--markdown") ? "markdown" : "text";
  const unknown = args.filter((a) => a !== "--json" && a !== "--markdown");
  if (unknown.length || (args.includes("--json") && args.includes("--markdown"))) {
    writeSync(2, unknown.length ? `bun-snapshot doctor: unknown option ${unknown[0]}\n${USAGE}` : USAGE);
    return 2;
  }
  const r = await diagnose();
  const out = format === "json" ? `${JSON.stringify(r, null, 2)}\n` : format === "markdown" ? formatMarkdown(r) : formatText(r);
  writeSync(1, out);
  return r.exitCode;
}
