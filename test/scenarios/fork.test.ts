// The fork protocol end to end: isolation, resumption, output, and no leaks or hangs.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BEFORE_1_4, killTree, lines, runFixture, SAFE_ENV } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

describe("isolation and resumption", () => {
  test("a child's mutations of objects, Map/Set, typed arrays, classes, module state and globalThis never reach the parent", async () => {
    const r = await runFixture("isolation.ts");
    expect(lines(r.stdout)).toEqual(["child changed", "parent same", "exit 0"]);
    expect(r.exitCode).toBe(0);
  });

  test("pending timers, intervals, promises and a Bun.serve server work in the parent after resume", async () => {
    const r = await runFixture("resume.ts");
    expect(lines(r.stdout)).toEqual([
      "warm hello /warm",
      "child served on true",
      "events microtask,timer,promise,ticks 3",
      "after hello /after",
    ]);
    expect(r.exitCode).toBe(0);
  });
});

describe("output", () => {
  for (const mode of ["write", "console", "exit"]) {
    const expected = ["parent before", "child 1", "child 2", "parent after"];
    test(`once and in order, stdout a pipe (${mode})`, async () => {
      const r = await runFixture("output-order.ts", [mode]);
      expect(lines(r.stdout)).toEqual(expected);
      expect(r.exitCode).toBe(0);
    });
    test(`once and in order, stdout a file (${mode})`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), "snap-out-")), "out.txt");
      const r = await runFixture("output-order.ts", [mode], { stdoutFile: file });
      expect(lines(readFileSync(file, "utf8"))).toEqual(expected);
      expect(r.exitCode).toBe(0);
    });
  }

  // A shell pipe whose reader starts late: after a second ("slow"), or only once the fixture has
  // said on stderr how its first try went ("stuck").
  async function slowPipe(mode: "slow" | "stuck", env: Record<string, string> = {}): Promise<{ err: string[]; out: string }> {
    const dir = mkdtempSync(join(tmpdir(), "snap-slow-"));
    const [err, out] = [join(dir, "err.txt"), join(dir, "out.txt")];
    const fixture = join(import.meta.dir, "../fixtures/slow-pipe.ts");
    const wait = mode === "slow" ? "sleep 1" : `until grep -q . "${err}"; do sleep 0.01; done`;
    const sh = `"${process.execPath}" "${fixture}" 2>"${err}" | { ${wait}; cat; } >"${out}"`;
    const proc = Bun.spawn(["sh", "-c", sh], { env: { ...process.env, ...SAFE_ENV, ...env }, stdout: "ignore", stderr: "inherit" });
    const timer = setTimeout(() => killTree(proc.pid), 30_000);
    await proc.exited;
    clearTimeout(timer);
    return { err: lines(readFileSync(err, "utf8")), out: readFileSync(out, "utf8") };
  }

  test("a slow reader: what the parent wrote is written out before the fork; parent, child, parent, each once, in order", async () => {
    const r = await slowPipe("slow");
    expect(r.err).toEqual(["snapshot taken"]);
    expect(r.out).toBe(`${"A".repeat(300_000)}\nbefore\nchild\nafter\n`);
  });

  test("a reader that takes nothing past the bound: EBUSY saying how much is held; after 'drain' it works and nothing is doubled", async () => {
    const r = await slowPipe("stuck", { BUN_SNAPSHOT_STDIO_WAIT_MS: "300" });
    expect(r.err.length).toBe(2);
    expect(r.err[0]).toMatch(/^refused EBUSY process\.stdout still holds output its reader has not taken yet \(\d+ bytes written while its reader took nothing for 300 ms\)/);
    expect(r.err[1]).toBe("snapshot after drain ok");
    expect(r.out).toBe(`${"A".repeat(300_000)}\nbefore\nchild\nafter\n`);
  });
});

describe("no leaks, no hangs", () => {
  test("300 snapshots in a row leave no descriptor and no child behind", async () => {
    const r = await runFixture("many.ts", ["300"]);
    const m = /^rounds 300 exits 300 fds (\d+) (\d+) children 0$/.exec(r.stdout.trim());
    expect(m).not.toBeNull();
    expect(m![2]).toBe(m![1]!);
  });

  test("100 allocation-heavy children with Bun.gc(true), parent GC and JIT busy in between: none hangs", async () => {
    const r = await runFixture("gc-busy.ts", ["100"], { timeoutMs: 240_000 });
    expect(r.stdout.trim()).toBe("children 100 ok 100 hung 0 other 0");
  }, 250_000);

  test("50 snapshots forked as the allocator's scavenger wakes: none hangs (Bun 1.2/1.3 park it; 1.4 has none)", async () => {
    const r = await runFixture("at-wake.ts", ["50"], { env: { BUN_SNAPSHOT_TEST_FORK_AT_WAKE: "1" }, timeoutMs: 120_000 });
    expect(r.stdout.trim()).toBe(`rounds 50 ok 50 hung 0 raced ${BEFORE_1_4 ? "yes" : "no"}`);
  }, 130_000);

  for (const mode of ["tla", "write-exit"]) {
    test(`children that end by ${mode === "tla" ? "a top-level await then the end of the script" : "stdout.write then process.exit"} always end`, async () => {
      const r = await runFixture("shutdown-hang.ts", [mode, "10"]);
      const word = mode === "tla" ? "slept" : "wrote";
      const want = Array.from({ length: 10 }, (_, i) => [`child ${i} ${word}`, `parent ${i} 0`]).flat();
      expect(lines(r.stdout)).toEqual(want);
      expect(r.timedOut).toBe(false);
    });
  }
});
