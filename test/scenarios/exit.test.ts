// How a snapshot child ends and what its parent sees: every exit code, the natural end, uncaught
// errors, death by signal (with and without a core dump), and which "exit" listeners run.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CRASH_SIGNAL, ended, lines, runFixture, type Run } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

describe("exit codes", () => {
  test("a child ending with each code 0..255 (process.exit for even, revert for odd)", async () => {
    const run = await runFixture("exit-codes.ts");
    ended(run, 0);
    expect(run.stderr).toBe("");
    const out = lines(run.stdout);
    expect(out.length).toBe(2 * 256 + 1);
    const rootPid = Number(/^root (\d+) done$/.exec(out.at(-1)!)![1]);
    const pids = new Set<number>();
    for (let code = 0; code < 256; code++) {
      const child = /^child (\d+) (\d+)$/.exec(out[2 * code]!)!;
      expect(Number(child[1])).toBe(code);
      const pid = Number(child[2]);
      pids.add(pid);
      // pid, exitCode, signal, raw status, coreDumped, durationMs > 0
      expect(out[2 * code + 1]).toBe(`parent ${code} ${pid} ${code} null ${code << 8} false true`);
    }
    expect(pids.size).toBe(256);
    expect(pids.has(rootPid)).toBe(false);
  });
});

describe("a child that ends by itself", () => {
  // root <pid> / child <pid> / outcome <pid> <exitCode> <signal> <status> <coreDumped> <durationMs > 0>
  async function natural(how: string, code: number): Promise<Run> {
    const run = await runFixture("exit-natural.ts", [how]);
    ended(run, 0); // the parent resumes and ends normally whatever the child did
    const out = lines(run.stdout);
    expect(out.length).toBe(3);
    const root = Number(/^root (\d+)$/.exec(out[0]!)![1]);
    const child = Number(/^child (\d+)$/.exec(out[1]!)![1]);
    expect(child).not.toBe(root);
    expect(out[2]).toBe(`outcome ${child} ${code} null ${code << 8} false true`);
    return run;
  }

  test("natural end of the module: exit code 0", async () => {
    expect((await natural("plain", 0)).stderr).toBe("");
  });

  test("natural end with process.exitCode = 7 (synchronous child): the parent sees 7", async () => {
    expect((await natural("exitCode-sync", 7)).stderr).toBe("");
  });

  test("natural end with process.exitCode = 7 after awaits (async module): the parent sees 7", async () => {
    expect((await natural("exitCode-async", 7)).stderr).toBe("");
  });

  test("an uncaught exception: exit code 1, the error on stderr", async () => {
    const run = await natural("throw", 1);
    expect(run.stderr).toContain("error: boom in the child");
    expect(run.stderr).toContain("exit-natural.ts");
  });

  test("an unhandled rejection: exit code 1 (Bun's default), the error on stderr", async () => {
    const run = await natural("reject", 1);
    expect(run.stderr).toContain("rejected in the child");
    expect(run.stderr).toContain("exit-natural.ts");
  });
});

describe("death by signal", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "latin1").trim();
  // A plain file name: the core lands in the dying process's cwd, which the fixture sets.
  const coreInCwd = !corePattern.startsWith("|") && !corePattern.includes("/");
  const SIGNO: Record<string, number> = { SIGKILL: 9, SIGILL: 4, SIGSEGV: 11, SIGABRT: 6, SIGTERM: 15 };
  // What a case dies by: Bun's crash handler takes a real fault and a SIGSEGV sent with kill, and
  // ends the process by CRASH_SIGNAL (SIGILL before Bun 1.4); reset + raise bypasses it.
  const expected = (kase: string) => (kase === "fault" || kase === "kill-SIGSEGV" ? CRASH_SIGNAL : kase.split("-")[1]!);

  // Runs exit-signals.ts; returns case -> [pid, status, exitCode, signal, coreDumped, durationMs > 0].
  async function signals(limit: string, cases: string[]) {
    const dir = mkdtempSync(join(tmpdir(), "bun-snapshot-core-"));
    dirs.push(dir);
    const run = await runFixture("exit-signals.ts", [limit, dir, ...cases]);
    ended(run, 0);
    const out = lines(run.stdout);
    expect(out.length).toBe(2 * cases.length + 1);
    expect(out.at(-1)).toBe("done");
    const seen = new Map<string, string[]>();
    cases.forEach((kase, i) => {
      const [, childCase, childPid] = /^child (\S+) (\d+)$/.exec(out[2 * i]!)!;
      expect(childCase).toBe(kase);
      const f = out[2 * i + 1]!.split(" ");
      expect(f.slice(0, 3)).toEqual(["parent", kase, childPid!]);
      seen.set(kase, f.slice(2));
    });
    return { run, seen, dir };
  }

  test("RLIMIT_CORE 0: SIGKILL, SIGSEGV, SIGABRT (kill or reset + raise), a real fault, SIGTERM; never a core", async () => {
    const cases = ["kill-SIGKILL", "kill-SIGSEGV", "raise-SIGSEGV", "kill-SIGABRT", "raise-SIGABRT", "fault", "kill-SIGTERM"];
    const { run, seen, dir } = await signals("0", cases);
    for (const kase of cases) {
      const sig = expected(kase);
      const [pid, status, exitCode, signal, core, positive] = seen.get(kase)!;
      expect([status, exitCode, signal, core, positive]).toEqual([String(SIGNO[sig]), "null", sig, "false", "true"]);
      expect(Number(pid)).toBeGreaterThan(0);
      expect(core === "true").toBe((Number(status) & 0x80) !== 0);
    }
    // Bun 1.4's crash handler leaves process.kill()'s SIGSEGV/SIGABRT alone (re-raised silently)
    // and reports a real fault before dying by the same signal; Bun 1.2/1.3 report both.
    expect(run.stderr.match(/Segmentation fault/g)?.length).toBe(CRASH_SIGNAL === "SIGILL" ? 2 : 1);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("RLIMIT_CORE unlimited: coreDumped follows the core bit (0x80) of the status", async () => {
    const cases = ["kill-SIGKILL", "kill-SIGSEGV", "raise-SIGABRT"];
    const { seen, dir } = await signals("unlimited", cases);
    for (const kase of cases) {
      const sig = expected(kase);
      const [, status, exitCode, signal, core, positive] = seen.get(kase)!;
      expect([exitCode, signal, positive]).toEqual(["null", sig, "true"]);
      expect(Number(status) & 0x7f).toBe(SIGNO[sig]!);
      expect(core === "true").toBe((Number(status) & 0x80) !== 0);
    }
    expect(seen.get("kill-SIGKILL")![4]).toBe("false"); // SIGKILL never dumps core
    if (coreInCwd) {
      // core_pattern is a file name: the kernel writes the core into the fixture's cwd.
      expect(seen.get("kill-SIGSEGV")!.slice(1, 5)).toEqual([String(SIGNO[CRASH_SIGNAL]! | 0x80), "null", CRASH_SIGNAL, "true"]);
      expect(seen.get("raise-SIGABRT")!.slice(1, 5)).toEqual([String(6 | 0x80), "null", "SIGABRT", "true"]);
      expect(readdirSync(dir).some((f) => f.startsWith(corePattern.split("%")[0]!))).toBe(true);
    }
  });
});

describe('"exit" listeners in the child', () => {
  // A: the parent's, added before the snapshot; B: the child's. Each prints name, depth(), code.
  const ENDS = [
    ["natural", 3],
    ["exit", 4],
    ["revert", 5],
  ] as const;
  for (const [how, code] of ENDS) {
    test(`default policy ("new"), child ends by ${how}: only B runs in the child; A runs once, in the parent`, async () => {
      const run = await runFixture("exit-handlers.ts", ["new", how]);
      ended(run, 0);
      expect(run.stderr).toBe("");
      expect(lines(run.stdout)).toEqual([`B 1 ${code}`, `resumed ${code} null`, "A 0 0"]);
    });
    test(`exitHandlers "all", child ends by ${how}: A then B run in the child; A once more in the parent`, async () => {
      const run = await runFixture("exit-handlers.ts", ["all", how]);
      ended(run, 0);
      expect(run.stderr).toBe("");
      expect(lines(run.stdout)).toEqual([`A 1 ${code}`, `B 1 ${code}`, `resumed ${code} null`, "A 0 0"]);
    });
  }

  for (const policy of ["new", "all"]) {
    test(`a listener that throws is reported and the others still run (${policy})`, async () => {
      const run = await runFixture("exit-handlers.ts", [policy, "throwing"]);
      ended(run, 0);
      const expected = [...(policy === "all" ? ["A 1 6"] : []), "B2 1 6", "resumed 6 null", "A 0 0"];
      expect(lines(run.stdout)).toEqual(expected);
      expect(run.stderr).toContain("bun-snapshot: an exit listener threw in the snapshot child:");
      expect(run.stderr).toContain("listener B1 threw");
    });

    test(`commit() makes every listener run in the child, and the parent does not resume (${policy})`, async () => {
      const run = await runFixture("exit-handlers.ts", [policy, "commit"]);
      ended(run, 8);
      expect(run.stderr).toBe("");
      expect(lines(run.stdout)).toEqual(["A 1 8", "B 1 8"]);
    });
  }

  test('policies are per snapshot: depth 1 "all", depth 2 "new"', async () => {
    const run = await runFixture("exit-handlers-nested.ts");
    ended(run, 0);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual(["C 2 2", "resumed at 1 2", "A 1 1", "B 1 1", "resumed at 0 1", "A 0 0"]);
  });
});
