// Nested snapshots: identity (pid, ppid, depth), the lineage of snapshots(), unwinding with
// revert/revertTo, commit through the whole line, misuse errors, and rootOnly().
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { ended, lines, runFixture, type Run } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

describe("identity", () => {
  test("pid, ppid, parentPid, depth() and inSnapshot() at depths 0, 1, 2", async () => {
    const run = await runFixture("nest-identity.ts");
    ended(run, 0);
    expect(run.stderr).toBe("");
    const out = lines(run.stdout);
    expect(out.length).toBe(9);
    const info = (l: string) => {
      const m = /^(\S+) pid (\d+) real (\d+) ppid (\d+) realppid (\d+) depth (\d+) in (true|false)$/.exec(l)!;
      expect(m).not.toBeNull();
      return { who: m[1], pid: +m[2]!, real: +m[3]!, ppid: +m[4]!, realppid: +m[5]!, depth: +m[6]!, in: m[7] === "true" };
    };
    const l0 = info(out[0]!);
    const l1 = info(out[1]!);
    const l2 = info(out[3]!);
    expect(l0).toEqual({ who: "level0", pid: l0.real, real: l0.real, ppid: l0.realppid, realppid: l0.realppid, depth: 0, in: false });
    // The cached process.pid is the child's own; ppid is the process that took the snapshot.
    expect(l1).toEqual({ who: "level1", pid: l1.real, real: l1.real, ppid: l0.pid, realppid: l0.pid, depth: 1, in: true });
    expect(l2).toEqual({ who: "level2", pid: l2.real, real: l2.real, ppid: l1.pid, realppid: l1.pid, depth: 2, in: true });
    expect(new Set([l0.pid, l1.pid, l2.pid]).size).toBe(3);
    expect(out[2]).toBe(`level1 fork child 1 ${l0.pid}`);
    expect(out[4]).toBe(`level2 fork child 2 ${l1.pid}`);
    expect(out[5]).toBe(`level1 parent parent ${l2.pid} ${l2.pid} 0`);
    expect(info(out[6]!)).toEqual({ ...l1, who: "level1-after" });
    expect(out[7]).toBe(`level0 parent parent ${l1.pid} ${l1.pid} 0`);
    expect(info(out[8]!)).toEqual({ ...l0, who: "level0-after" });
  });
});

describe("four nested snapshots", () => {
  // Parses nest-chain.ts's output: the pid of each level, the chain, and the resume lines.
  function chainRun(run: Run) {
    ended(run, 0);
    expect(run.stderr).toBe("");
    const out = lines(run.stdout);
    const pids = out.slice(0, 5).map((l, d) => {
      const m = /^level (\d) (\d+)$/.exec(l)!;
      expect(Number(m[1])).toBe(d);
      return Number(m[2]);
    });
    expect(new Set(pids).size).toBe(5);
    expect(out[5]!.startsWith("chain ")).toBe(true);
    const chain = JSON.parse(out[5]!.slice(6)) as { depth: number; pid: number; label?: string; takenAt: number; stack: string }[];
    return { pids, chain, rest: out.slice(6) };
  }

  test("snapshots() at depth 4: five entries, depths 0..4, labels, pids, takenAt, stack", async () => {
    const { pids, chain } = chainRun(await runFixture("nest-chain.ts", ["stepwise"]));
    expect(chain.length).toBe(5);
    expect(chain.map((c) => c.depth)).toEqual([0, 1, 2, 3, 4]);
    expect(chain.map((c) => c.pid)).toEqual(pids);
    expect(chain.map((c) => c.label)).toEqual([undefined, "level-1", "level-2", "level-3", "level-4"]);
    expect("label" in chain[0]!).toBe(false);
    expect(chain[0]!.stack).toBe("");
    for (let d = 1; d < 5; d++) {
      expect(chain[d]!.takenAt).toBeGreaterThanOrEqual(chain[d - 1]!.takenAt);
      expect(chain[d]!.stack).toContain("nest-chain.ts");
      expect(chain[d]!.stack).not.toContain("/src/");
    }
    expect(chain[4]!.takenAt).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - chain[0]!.takenAt).toBeLessThan(60_000);
  });

  test("revert() one level at a time from depth 4 down to 0", async () => {
    const { pids, rest } = chainRun(await runFixture("nest-chain.ts", ["stepwise"]));
    // resumed at <d> <depth()> <lastOutcome().pid> <exitCode> <signal>
    expect(rest).toEqual([
      `resumed at 3 3 ${pids[4]} 14 null`,
      `resumed at 2 2 ${pids[3]} 13 null`,
      `resumed at 1 1 ${pids[2]} 12 null`,
      `resumed at 0 0 ${pids[1]} 11 null`,
      "root end",
    ]);
  });

  for (const k of [0, 1, 2, 3]) {
    test(`revertTo(${k}) from depth 4: depth ${k} resumes, the levels between end at once`, async () => {
      const { pids, rest } = chainRun(await runFixture("nest-chain.ts", ["revertTo", String(k)]));
      const expected = [`resumed at ${k} ${k} ${pids[k + 1]} 0 null`];
      for (let d = k - 1; d >= 0; d--) expected.push(`resumed at ${d} ${d} ${pids[d + 1]} ${11 + d} null`);
      expect(rest).toEqual([...expected, "root end"]);
    });
  }

  test("revertTo(0) from depth 3: each snapshot that ends runs the exit listeners added inside it", async () => {
    const run = await runFixture("nest-revertto-exit.ts");
    ended(run, 0);
    expect(run.stderr).toBe("");
    // Default policy "new": L<d> was added inside the snapshot at depth d, so it runs as that
    // snapshot ends (deepest first); depth 0 resumes and runs L0 at its own end.
    expect(lines(run.stdout)).toEqual(["L3 ran at 3 0", "L2 ran at 2 0", "L1 ran at 1 0", "resumed at 0", "L0 ran at 0 0"]);
  });
});

describe("commit", () => {
  // level lines, then "committed at 2", then the listeners of depths 0..2 when the child exits.
  async function committed(how: string, exitCode: number | null, signal: string | null, code?: number) {
    const run = await runFixture("nest-commit.ts", [how]);
    ended(run, exitCode, signal);
    expect(run.stderr).toBe("");
    const out = lines(run.stdout);
    expect(out.slice(0, 3).map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["level 0", "level 1", "level 2"]);
    const listeners = code === undefined ? [] : [0, 1, 2].map((d) => `L${d} ran at 2 ${code}`);
    // No ancestor prints "resumed": each ends with the child's status.
    expect(out.slice(3)).toEqual(["committed at 2", ...listeners]);
  }

  test("commit() at depth 2 then process.exit(5): the root exits with 5", async () => {
    await committed("exit5", 5, null, 5);
  });

  test("commit() at depth 2 then SIGKILL: the root dies by SIGKILL", async () => {
    await committed("SIGKILL", null, "SIGKILL");
  });

  test("commit() at depth 2 then SIGTERM: the root dies by SIGTERM", async () => {
    await committed("SIGTERM", null, "SIGTERM");
  });

  test("commit() at depth 2 then revert(3): the root exits with 3", async () => {
    await committed("revert3", 3, null, 3);
  });
});

describe("errors", () => {
  test("misused verbs and bad options throw SnapshotError, before any fork", async () => {
    const run = await runFixture("nest-errors.ts");
    ended(run, 0);
    expect(run.stderr).toBe("");
    const err = (code: string, message: string) => JSON.stringify({ SnapshotError: true, name: "SnapshotError", code, message });
    const notIn = (fn: string) =>
      err("ENOTSNAPSHOT", `${fn}() needs to run inside a snapshot (depth() is 0 here, the original process); take one with snapshot() first`);
    const notAncestor = (t: string, d: number) =>
      err("EINVAL", `revertTo(${t}): the depth must be a whole number from 0 to ${d - 1} (an ancestor of this snapshot at depth ${d})`);
    const forwardable = "an array of signal names that can be caught, such as SIGTERM (not SIGKILL or SIGSTOP)";
    const badCode = (c: string) => err("EINVAL", `revert(${c}): the exit code must be a whole number from 0 to 255`);
    expect(lines(run.stdout)).toEqual([
      `d0 revert() ${notIn("revert")}`,
      `d0 revert(3) ${notIn("revert")}`,
      `d0 revertTo(0) ${notIn("revertTo")}`,
      `d0 commit() ${notIn("commit")}`,
      `label 5 ${err("EINVAL", "invalid option label: 5 (expected a string)")}`,
      `exitHandlers "x" ${err("EINVAL", 'invalid option exitHandlers: "x" (expected "new" or "all")')}`,
      `forward ["SIGNOPE"] ${err("EINVAL", `invalid option forward: ["SIGNOPE"] (expected ${forwardable})`)}`,
      `forward ["SIGTERM", "SIGKILL"] ${err("EINVAL", `invalid option forward: ["SIGTERM","SIGKILL"] (expected ${forwardable})`)}`,
      `unsafe "yes" ${err("EINVAL", 'invalid option unsafe: "yes" (expected a boolean)')}`,
      `lable ${err("EINVAL", "unknown option lable (did you mean label?)")}`,
      `timeoutMs in snapshot() ${err("EINVAL", "option timeoutMs belongs to trial(); snapshot() and fork() do not take it")}`,
      "after options pid-same true depth 0 outcome none",
      `d1 revertTo(1) ${notAncestor("1", 1)}`,
      `d2 revertTo(-1) ${notAncestor("-1", 2)}`,
      `d2 revertTo(1.5) ${notAncestor("1.5", 2)}`,
      `d2 revertTo(5) ${notAncestor("5", 2)}`,
      `d2 revertTo(2) ${notAncestor("2", 2)}`,
      `d2 revert(256) ${badCode("256")}`,
      `d2 revert(-1) ${badCode("-1")}`,
      `d2 revert(2.5) ${badCode("2.5")}`,
      "d2 still at depth 2",
      "d1 resumed 42",
      "d0 resumed 43",
    ]);
  });
});

describe("rootOnly", () => {
  test("runs fn with this and arguments at depth 0; returns undefined without running it in a snapshot", async () => {
    const run = await runFixture("nest-rootonly.ts");
    ended(run, 0);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual([
      'root {"self":"the-this","a":1,"b":"x","depth":0} arrow-value calls 1',
      "child1 undefined undefined calls 1",
      "child2 undefined undefined calls 1",
      'back {"self":"the-this","a":4,"b":"w","depth":0} calls 2 child-saw 1',
    ]);
  });
});
