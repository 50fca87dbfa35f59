// A waited-for child ends without its parent waiting for its memory's teardown (src/sys/exit-c.ts):
// a helper sharing its memory frees it after the parent has resumed. Each scenario runs under
// test/fixtures/reaper.ts, a subreaper that reaps nothing until the end: it counts the helpers the
// children left (the system's reaper gets them otherwise), proving one per child, none where the
// parent does not wait, and the stop when helpers are left unreaped.
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, lines, runFixture } from "../helpers.ts";

setDefaultTimeout(60_000);

const REAPER = [process.execPath, join(FIXTURES, "reaper.ts")];

async function underReaper(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const r = await runFixture("defer-exit.ts", args, { wrap: REAPER, env });
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  return lines(r.stdout);
}

const cases: [string, string[], string, number][] = [
  ["five snapshots ended by revert(7)", ["snapshots", "5"], "7,7,7,7,7", 5],
  ["four synchronous trials", ["trials", "4"], "0,0,0,0", 4],
  ["three async trials", ["async", "3"], "0,0,0", 3],
  ["three nested pairs (both levels' children)", ["nested", "3"], "8,8,8", 6],
];
for (const [name, args, codes, helpers] of cases) {
  test(`${name}: one helper per child, the outcomes unchanged`, async () => {
    expect(await underReaper(args)).toEqual([`codes ${codes}`, `helpers ${helpers}`, "others 0"]);
  });
}

test("a child that reverts holding an exclusive flock has let go of its file when its parent resumes", async () => {
  // Its descriptors are pointed at /dev/null before it ends: the helper that outlives it holds no file.
  expect(await underReaper(["lock", "20"])).toEqual(["lock free after 20 of 20", `codes ${Array(20).fill(7).join(",")}`, "helpers 20", "others 0"]);
});

test("a detached child is not waited for: it ends plainly, no helper", async () => {
  expect(await underReaper(["detached", "2"])).toEqual(["codes 4,4", "helpers 0", "others 0"]);
});

test("BUN_SNAPSHOT_DEFER_EXIT=0 and the JavaScript fork (BUN_SNAPSHOT_NATIVE=0): no helper", async () => {
  expect(await underReaper(["snapshots", "3"], { BUN_SNAPSHOT_DEFER_EXIT: "0" })).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
  expect(await underReaper(["snapshots", "3"], { BUN_SNAPSHOT_NATIVE: "0" })).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
});

test("a parent that is a subreaper would get its children's helpers: it defers nothing", async () => {
  // Were helpers made, they would be the fixture's zombies, then the reaper's when it ends.
  expect(await underReaper(["subreaper", "3"])).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
});

test("until one helper is seen reaped, at most 32 are followed at once: a reaper that reaps nothing gets no more", async () => {
  const out = await underReaper(["snapshots", "40"]);
  expect(out).toEqual([`codes ${Array(40).fill(7).join(",")}`, "helpers 32", "others 0"]);
});

test("helpers left unreaped past the limit (a reaper that does not reap) stop the deferral for good", async () => {
  // Three snapshots, a pause longer than the limit, three more: the fourth finds the first
  // helpers still zombies and ends plainly, as do all after it.
  const out = await underReaper(["pause", "3", "400"], { BUN_SNAPSHOT_TEST_REAP_MS: "200" });
  expect(out).toEqual(["codes 7,7,7,7,7,7", "helpers 3", "others 0"]);
});
