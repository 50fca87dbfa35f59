// A waited-for child ends without its parent waiting for its memory's teardown (src/sys/exit-c.ts):
// a helper sharing its memory frees it after the parent has resumed. Each scenario runs under
// test/fixtures/reaper.ts, a subreaper (the system's reaper gets the helpers otherwise) that reaps
// nothing until the end, or with --reap each helper as init would: it counts them, proving one per
// child, none where the parent does not wait, the caps before one was seen reaped, and the stop
// when helpers are left unreaped.
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, lines, runFixture } from "../helpers.ts";

setDefaultTimeout(60_000);

const REAPER = [process.execPath, join(FIXTURES, "reaper.ts")];

async function underReaper(args: string[], env: Record<string, string> = {}, reap = false): Promise<string[]> {
  const r = await runFixture("defer-exit.ts", args, { wrap: reap ? [...REAPER, "--reap"] : REAPER, env });
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  return lines(r.stdout);
}

// Under the 8 followed at once before one is seen reaped (this reaper never reaps).
const cases: [string, string[], string, number][] = [
  ["five snapshots ended by revert(7)", ["snapshots", "5"], "7,7,7,7,7", 5],
  ["four synchronous trials", ["trials", "4"], "0,0,0,0", 4],
  ["three async trials", ["async", "3"], "0,0,0", 3],
];
for (const [name, args, codes, helpers] of cases) {
  test(`${name}: one helper per child, the outcomes unchanged`, async () => {
    expect(await underReaper(args)).toEqual([`codes ${codes}`, `helpers ${helpers}`, "others 0"]);
  });
}

test("with a reaper that reaps: once a helper is seen reaped, nested children defer too (one helper per child)", async () => {
  const [proven, ...rest] = await underReaper(["proven", "5"], {}, true);
  const before = Number(proven!.split(" ")[2]);
  expect(proven).toMatch(/^proven after \d+$/);
  expect(before).toBeLessThan(400);
  expect(rest).toEqual(["codes 8,8,8,8,8", `helpers ${before + 10}`, "others 0"]);
});

test("a child that reverts holding an exclusive flock has let go of its file when its parent resumes", async () => {
  // Its descriptors are pointed at /dev/null before it ends: the helper that outlives it holds no file.
  expect(await underReaper(["lock", "6"])).toEqual(["lock free after 6 of 6", "codes 7,7,7,7,7,7", "helpers 6", "others 0"]);
});

// The child's end sees its mappings through PROCMAP_QUERY where the kernel has it (Linux 6.11+),
// else (and with BUN_SNAPSHOT_TEST_TEXT_MAPS=1) through the text of /proc/self/maps.
for (const [how, env] of [["", {}], [" (the text of /proc/self/maps)", { BUN_SNAPSHOT_TEST_TEXT_MAPS: "1" }]] as const) {
  test(`a child that maps a data file (here the locked one: the mapping holds the open file) ends plainly, its helper killed and reaped by it${how}`, async () => {
    expect(await underReaper(["mlock", "6"], env)).toEqual(["lock free after 6 of 6", "codes 7,7,7,7,7,7", "helpers 0", "others 0"]);
  });

  test(`so does a child that maps a memfd (its seals); shared anonymous memory is held by the helper (whatever the child's end marks there is marked in it)${how}`, async () => {
    expect(await underReaper(["memfd", "3"], env)).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
    expect(await underReaper(["shm", "3"], env)).toEqual(["codes 7,7,7", "helpers 3", "others 0"]);
  });
}

// A System V segment's inode number is its id, and the first segment of a new IPC namespace has
// id 0: still a mapping of shared memory that its attach count must not outlive (unshare -i, root).
const IPC_NS = Bun.spawnSync(["unshare", "-i", "true"]).exitCode === 0;
test.skipIf(!IPC_NS)("so does a child that has System V shared memory attached, also the segment of id 0 (its attach count is the parent's alone when it resumes)", async () => {
  for (const env of [{}, { BUN_SNAPSHOT_TEST_TEXT_MAPS: "1" }]) {
    const r = await runFixture("defer-exit.ts", ["sysv", "4"], { wrap: [...REAPER, "unshare", "-i"], env });
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual(["id 0 alone after 4 of 4", "codes 7,7,7,7", "helpers 0", "others 0"]);
  }
});

test("a detached child is not waited for: it ends plainly, no helper", async () => {
  expect(await underReaper(["detached", "2"])).toEqual(["codes 4,4", "helpers 0", "others 0"]);
});

test("BUN_SNAPSHOT_DEFER_EXIT=0 and the JavaScript fork (BUN_SNAPSHOT_NATIVE=0): no helper", async () => {
  expect(await underReaper(["snapshots", "3"], { BUN_SNAPSHOT_DEFER_EXIT: "0" })).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
  expect(await underReaper(["snapshots", "3"], { BUN_SNAPSHOT_NATIVE: "0" })).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
});

test("with a single CPU (taskset -c 0) the teardown would take the parent's own: no helper", async () => {
  const r = await runFixture("defer-exit.ts", ["snapshots", "3"], { wrap: [...REAPER, "taskset", "-c", "0"] });
  expect(r.stderr).toBe("");
  expect(lines(r.stdout)).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
});

test("a parent that is a subreaper would get its children's helpers: it defers nothing", async () => {
  // Were helpers made, they would be the fixture's zombies, then the reaper's when it ends.
  expect(await underReaper(["subreaper", "3"])).toEqual(["codes 7,7,7", "helpers 0", "others 0"]);
});

test("until one helper is seen reaped, at most 8 helpers and children are followed at once: a reaper that reaps nothing gets no more", async () => {
  expect(await underReaper(["snapshots", "40"])).toEqual([`codes ${Array(40).fill(7).join(",")}`, "helpers 8", "others 0"]);
  // Twenty async trials in flight at once: the children in flight count.
  expect(await underReaper(["async-many", "20"])).toEqual([`codes ${Array(20).fill(0).join(",")}`, "helpers 8", "others 0"]);
  // A snapshot child whose parent had seen none reaped defers nothing of its own children's.
  expect(await underReaper(["nested", "3"])).toEqual(["codes 8,8,8", "helpers 3", "others 0"]);
});

test("helpers left unreaped past the limit (a reaper that does not reap) stop the deferral for good", async () => {
  // Three snapshots, a pause longer than the limit, three more: the fourth finds the first
  // helpers still zombies and ends plainly, as do all after it.
  const out = await underReaper(["pause", "3", "400"], { BUN_SNAPSHOT_TEST_REAP_MS: "200" });
  expect(out).toEqual(["codes 7,7,7,7,7,7", "helpers 3", "others 0"]);
});
