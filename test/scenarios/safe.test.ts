// Snapshot-safe mode: the ways to start a process safe, and the refusal without them.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages } from "../../src/errors.ts";
import { FIXTURES, lines, ROOT, runFixture, SAFE_ENV } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const fixture = join(FIXTURES, "safe-check.ts");
const unsafeEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("BUN_JSC_") || k === "BUN_SNAPSHOT_REEXEC") delete env[k];
  return env;
};

// Runs a command with no JSC switches in its environment; returns its pid and output lines.
async function runBare(cmd: string[], cwd = ROOT): Promise<{ pid: number; out: string[]; code: number | null }> {
  const proc = Bun.spawn(cmd, { cwd, env: unsafeEnv(), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  clearTimeout(timer);
  return { pid: proc.pid, out: lines(out), code: proc.exitCode };
}

describe("entry points", () => {
  test("`bun-snapshot run app.ts args` re-executes snapshot-safe in place: same pid, same args", async () => {
    const r = await runBare([process.execPath, join(ROOT, "src/cli/main.ts"), "run", fixture, "a", "b"]);
    expect(r.out).toEqual([`pid ${r.pid} args a,b gc 0`, "threads 0", "snapshot ok 9"]);
  });

  test("`bun --preload bun-snapshot/safe app.ts` restarts the process safe before user code", async () => {
    const r = await runBare([process.execPath, "--preload", join(ROOT, "src/safe/preload.ts"), fixture, "x"]);
    expect(r.out).toEqual([`pid ${r.pid} args x gc 0`, "threads 0", "snapshot ok 9"]);
  });

  test("bunfig.toml preload does the same for `bun app.ts`", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snap-bunfig-"));
    writeFileSync(join(dir, "bunfig.toml"), `preload = [${JSON.stringify(join(ROOT, "src/safe/preload.ts"))}]\n`);
    const r = await runBare([process.execPath, fixture, "y"], dir);
    expect(r.out).toEqual([`pid ${r.pid} args y gc 0`, "threads 0", "snapshot ok 9"]);
  });

  test("the entry points also turn off JSC's block warm-up thread where this Bun has it", async () => {
    const probe = "console.log(require('fs').readdirSync('/proc/self/task').map(t => require('fs').readFileSync(`/proc/self/task/${t}/comm`,'latin1').trim()).filter(n => n === 'JSCWarmUp').length, process.env.BUN_JSC_useWarmUpMarkedBlocks)";
    const dir = mkdtempSync(join(tmpdir(), "snap-warm-"));
    writeFileSync(join(dir, "probe.ts"), `const junk = []; for (let i = 0; i < 300000; i++) junk.push({ i });\n${probe}\n`);
    const r = await runBare([process.execPath, join(ROOT, "src/cli/main.ts"), "run", join(dir, "probe.ts")]);
    // Bun 1.2/1.3 have no such thread nor option: the variable is then left out (it would stop Bun).
    expect(r.out).toEqual([SAFE_ENV.BUN_JSC_useWarmUpMarkedBlocks === "0" ? "0 0" : "0 undefined"]);
  });
});

describe("refusal", () => {
  test("a process started without the switches refuses with EUNSAFE and names the ways", async () => {
    const r = await runFixture("safe-check.ts", [], { safe: false });
    const why = "it was started without BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 BUN_JSC_numberOfGCMarkers=1";
    expect(lines(r.stdout).slice(2)).toEqual(["refused EUNSAFE", `message ${messages.unsafe(why)}`]);
    expect(messages.unsafe(why)).toContain("bun-snapshot run");
    expect(messages.unsafe(why)).toContain("--preload bun-snapshot/safe");
  });

  test("one switch missing is named alone", async () => {
    const r = await runFixture("safe-check.ts", [], { safe: false, env: { BUN_JSC_useConcurrentJIT: "0", BUN_JSC_numberOfGCMarkers: "1" } });
    expect(lines(r.stdout).slice(2)).toEqual(["refused EUNSAFE", `message ${messages.unsafe("it was started without BUN_JSC_useConcurrentGC=0")}`]);
  });

  test("setting the switches in process.env after start does not count", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snap-late-"));
    const script = join(dir, "late.ts");
    writeFileSync(script, `Object.assign(process.env, { BUN_JSC_useConcurrentJIT: "0", BUN_JSC_useConcurrentGC: "0", BUN_JSC_numberOfGCMarkers: "1" });\nawait import(${JSON.stringify(fixture)});\n`);
    const r = await runFixture(script, [], { safe: false });
    expect(lines(r.stdout)[2]).toBe("refused EUNSAFE");
  });

  test("{ unsafe: true } takes the risk and forks anyway", async () => {
    const r = await runFixture("safe-check.ts", ["--unsafe"], { safe: false });
    // Usually the child answers; sometimes it hangs on a JSC thread it lacks (the risk), and the
    // time limit ends it. Either way it was forked, not refused.
    expect(lines(r.stdout)[2]).toMatch(/^forked true (value 9|child ended by SIGKILL)$/);
  });
});
