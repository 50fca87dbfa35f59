// FORK-IN-BUN §1 and §5 re-checked on the Bun in use, and the repair of §1.
import { expect, setDefaultTimeout, test } from "bun:test";
import { CRASH_SIGNAL, lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

// Bun 1.2 marks no memory MADV_DONTFORK (measured on 1.2.23: none, even with a big heap, wasm
// memory and a Worker): there the naive port works and makeForkable() has nothing to do.
const MARKS_DONTFORK = !/^1\.2\./.test(Bun.version);

test("the naive port (fork without madvise) dies of its fault before any JS runs in the child (Bun 1.3+; 1.2 marks nothing)", async () => {
  const r = await runFixture("naive-fork.ts", ["naive"]);
  // The fault goes through Bun's crash handler: SIGILL is how Bun 1.2/1.3 end after it.
  expect(lines(r.stdout)).toEqual(MARKS_DONTFORK ? [`child ${CRASH_SIGNAL}`] : ["child cached true real true", "child exited 0"]);
});

test("with every mapping made forkable the child runs, and process.pid is the parent's until fixed", async () => {
  const r = await runFixture("naive-fork.ts", ["fixed"]);
  expect(lines(r.stdout)).toEqual(["child cached true real true", "child exited 0"]);
});

test("Bun marks memory MADV_DONTFORK and makeForkable() leaves none, with a big heap, wasm memory and a Worker", async () => {
  const r = await runFixture("dontfork.ts");
  const [before, after] = lines(r.stdout);
  expect(Number(before!.split(" ")[1])).toBeGreaterThanOrEqual(MARKS_DONTFORK ? 1 : 0);
  expect(after).toBe("after 0 wasm true heap 2000");
});

for (const each of [false, true]) {
  test(`the native fork leaves no mapping MADV_DONTFORK${each ? ", advising them one at a time after its one call per run (as when a mapping refuses it)" : " (one madvise per run of mappings)"}`, async () => {
    const r = await runFixture("dontfork.ts", ["native"], each ? { env: { BUN_SNAPSHOT_TEST_ADVISE_EACH: "1" } } : {});
    expect(r.stderr).toBe("");
    const [before, native, after] = lines(r.stdout);
    expect(Number(before!.split(" ")[1])).toBeGreaterThanOrEqual(MARKS_DONTFORK ? 1 : 0);
    expect(native).toBe("native child true text");
    expect(after).toBe("after 0 wasm true heap 2000");
    expect(r.exitCode).toBe(0);
  });
}

// Linux 6.11+: PROCMAP_QUERY, an ioctl on /proc/self/maps (the native fork then advises around
// the special mappings its first read found, instead of reading the text before every fork).
const [major, minor] = (await Bun.file("/proc/sys/kernel/osrelease").text()).split(".").map(Number);
const HAS_PROCMAP_QUERY = major! > 6 || (major === 6 && minor! >= 11);

for (const way of ["query", "text", "moved"] as const) {
  const how = {
    query: HAS_PROCMAP_QUERY ? " (advised around the special mappings: PROCMAP_QUERY)" : "",
    text: " (the text of /proc/self/maps read each time, as before Linux 6.11)",
    moved: " (a special mapping found moved since the first read: the text read again)",
  }[way];
  const env = { query: {}, text: { BUN_SNAPSHOT_TEST_TEXT_MAPS: "1" }, moved: { BUN_SNAPSHOT_TEST_SPECIAL_MOVED: "1" } }[way];
  test(`a second snapshot, after a new mapping marked MADV_DONTFORK, leaves none either, and its child writes that mapping${how}`, async () => {
    const r = await runFixture("dontfork.ts", ["native", "twice"], { env });
    const text = way !== "query";
    expect(r.stderr).toBe("");
    const [, native1, after1, before2, native2, after2] = lines(r.stdout);
    expect(native1).toBe("native child true text"); // the first read finds the special mappings
    expect(after1).toBe("after 0 wasm true heap 2000");
    expect(Number(before2!.split(" ")[1])).toBeGreaterThanOrEqual(1); // (at least the one marked by the fixture)
    expect(native2).toBe(`native child true ${text || !HAS_PROCMAP_QUERY ? "text" : "query"}`);
    expect(after2).toBe("after 0 wasm true heap 4000");
    expect(r.exitCode).toBe(0);
  });
}
