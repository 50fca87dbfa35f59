// trial(async ...) where a user calls it: inside a `bun test` test (the REPL cases are in
// repl.test.ts, servers in trial-server.test.ts, top level in trial.test.ts). The copy never
// runs the caller's code: the runner reports each test once, from the parent.
import { expect, setDefaultTimeout, test } from "bun:test";
import { ended, runFixture } from "../helpers.ts";

setDefaultTimeout(60_000);

test("inside bun test: sync and async trials, a failed expect() in the copy is the trial's error; each test reported once", async () => {
  const run = await runFixture("trial-in-bun-test.ts", [], { bunArgs: ["test"], timeoutMs: 30_000 });
  ended(run);
  const report = run.stdout + run.stderr;
  expect(report.match(/^\(pass\) .*$/gm)?.map((l) => l.replace(/ \[[\d.]+ms\]$/, ""))).toEqual([
    "(pass) an async trial inside a test",
    "(pass) a sync trial inside a test",
    "(pass) a failing expectation inside the trial is the trial's error, not a failed test",
  ]);
  expect(report).toMatch(/^ 3 pass\n 0 fail\n/m);
  expect(report).not.toContain("(fail)");
});
