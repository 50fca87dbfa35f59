// `bun-snapshot doctor`: the report's shape, its exit status, the APIs known to work in a warm
// snapshot child, and the facts in its header. Runs the real doctor once (about 30-40 s while
// the work-pool APIs hang), bounded from outside.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { DOCTOR_USAGE, type DoctorReport, formatMarkdown, formatText } from "../../src/cli/doctor.ts";
import { killTree, ROOT } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
// The doctor run in beforeAll takes up to 110 s; the hook's own limit comes from here (bun:test
// in Bun 1.2 takes no second argument to beforeAll).
setDefaultTimeout(120_000);

const MAIN = join(ROOT, "src/cli/main.ts");

// The environment of a plain shell: none of the snapshot-safe switches (the doctor adds them).
function bareEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("BUN_JSC_") || k === "BUN_SNAPSHOT_REEXEC") delete env[k];
  return env;
}

// Runs `bun src/cli/main.ts <args>` with a time limit; the whole tree is killed past it.
async function cli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd: ROOT, env: bareEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(proc.pid);
  }, timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr, timedOut };
}

describe("doctor --json", () => {
  let run: Awaited<ReturnType<typeof cli>>;
  let report: DoctorReport;
  beforeAll(async () => {
    run = await cli(["doctor", "--json"], 110_000);
    try {
      report = JSON.parse(run.stdout) as DoctorReport;
    } catch {
      report = { unparsed: run.stdout, stderr: run.stderr } as never; // the shape test shows it
    }
  });

  test("finishes in time and prints one JSON report of the documented shape", () => {
    expect(run.timedOut).toBe(false);
    expect(report).toEqual({
      bun: { version: expect.any(String), revision: expect.any(String), layoutsKnown: expect.any(Boolean) },
      kernel: expect.any(String),
      libc: { name: expect.stringMatching(/^(glibc|musl)$/), path: expect.any(String), version: report.libc.version === null ? null : expect.any(String) },
      jscSwitches: expect.any(Object),
      snapshotSafe: expect.any(Boolean),
      unsafeReason: null,
      threads: expect.any(Array),
      timeoutMs: 3000,
      checks: expect.any(Array),
      hangs: expect.any(Number),
      exitCode: expect.any(Number),
      totalMs: expect.any(Number),
    });
    for (const t of report.threads) expect(t).toEqual({ name: expect.any(String), count: expect.any(Number) });
  });

  test("every API has a result and a detail", () => {
    const apis = report.checks.map((c) => c.api);
    expect(apis.length).toBeGreaterThanOrEqual(19);
    expect(new Set(apis).size).toBe(apis.length);
    for (const c of report.checks) {
      expect(["works", "fails fast", "hangs", "skipped"]).toContain(c.result);
      expect(c.detail.length).toBeGreaterThan(0);
      if (c.result === "works") expect(c.detail).toMatch(/^\d+(\.\d)? ms$/);
      if (c.result === "hangs") expect(c.error?.message).toContain("did not finish within 3000 ms");
    }
    expect(apis).toEqual(
      expect.arrayContaining(["fetch (http)", "fetch (https)", "Bun.file().text()", "fs.promises.readFile", "Bun.gc(true)", "import() of a new file"]),
    );
  });

  test("the exit status is 1 exactly when some API hangs", () => {
    const hangs = report.checks.filter((c) => c.result === "hangs").length;
    expect(report.hangs).toBe(hangs);
    expect(run.code).toBe(hangs > 0 ? 1 : 0);
    expect(report.exitCode).toBe(run.code!);
  });

  test("APIs known to work in a warm snapshot child on this Bun work", () => {
    const result = Object.fromEntries(report.checks.map((c) => [c.api, c.result]));
    for (const api of ["Bun.spawn", "bun:sqlite", "Worker", "Bun.write + readFileSync", "setTimeout"]) expect([api, result[api]]).toEqual([api, "works"]);
  });

  test("started without the switches, the doctor re-executed itself snapshot-safe; the header says which Bun, kernel, libc", () => {
    // The suite runs on the releases whose layouts are known (.ci/run): the doctor says so.
    expect(report.bun).toEqual({ version: Bun.version, revision: Bun.revision, layoutsKnown: true });
    expect(report.kernel).toBe(require("node:os").release());
    expect(report.snapshotSafe).toBe(true);
    expect(report.jscSwitches).toMatchObject({ BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_numberOfGCMarkers: "1" });
    if (report.libc.name === "glibc") expect(report.libc.version).toMatch(/^\d+\.\d+/);
  });
});

describe("command line", () => {
  test("`bun-snapshot --help` lists doctor", async () => {
    const r = await cli(["--help"], 10_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("bun-snapshot doctor [--json|--markdown]");
  });

  test("an unknown doctor option is refused with status 2 before anything runs", async () => {
    const r = await cli(["doctor", "--nope"], 10_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bun-snapshot doctor: unknown option --nope\n${DOCTOR_USAGE}`);
  });
});

describe("formats", () => {
  const report: DoctorReport = {
    bun: { version: "1.4.5", revision: "abc", layoutsKnown: false },
    kernel: "6.1.0",
    libc: { name: "glibc", path: "libc.so.6", version: "2.36" },
    jscSwitches: { BUN_JSC_useConcurrentGC: "0" },
    snapshotSafe: true,
    unsafeReason: null,
    threads: [{ name: "Bun Pool", count: 2 }],
    timeoutMs: 3000,
    checks: [
      { api: "a", result: "works", detail: "12 ms", ms: 12 },
      { api: "longer api", result: "fails fast", detail: "Error: x | y (3 ms)", ms: 3, error: { name: "Error", message: "x | y" }, note: "how" },
    ],
    hangs: 0,
    exitCode: 0,
    totalMs: 1500,
  };

  test("text: facts, then an aligned table", () => {
    const out = formatText(report);
    expect(out).toContain("  Bun             1.4.5 (revision abc)\n");
    expect(out).toContain("  Bun layouts     not known (known: 1.4.5, 1.3.14, 1.2.23): each repair proves its layout at run time and otherwise fails fast\n");
    expect(out).toContain("  helper threads  Bun Pool ×2\n");
    expect(out).toContain("API         result      detail\na           works       12 ms\nlonger api  fails fast  Error: x | y (3 ms) [how]\n");
  });

  test("markdown: facts as a list, a table with pipes escaped", () => {
    const out = formatMarkdown(report);
    expect(out).toContain("- snapshot-safe: yes\n");
    expect(out).toContain("| API | result | detail |\n|---|---|---|\n| `a` | works | 12 ms |\n| `longer api` | fails fast | Error: x \\| y (3 ms) [how] |\n");
  });
});
