// FORK-IN-BUN §1 and §5 re-checked on the Bun in use, and the repair of §1.
import { expect, setDefaultTimeout, test } from "bun:test";
import { lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

test("the naive port (fork without madvise) dies of SIGSEGV before any JS runs in the child", async () => {
  const r = await runFixture("naive-fork.ts", ["naive"]);
  expect(lines(r.stdout)).toEqual(["child SIGSEGV"]);
});

test("with every mapping made forkable the child runs, and process.pid is the parent's until fixed", async () => {
  const r = await runFixture("naive-fork.ts", ["fixed"]);
  expect(lines(r.stdout)).toEqual(["child cached true real true", "child exited 0"]);
});

test("Bun marks memory MADV_DONTFORK and makeForkable() leaves none, with a big heap, wasm memory and a Worker", async () => {
  const r = await runFixture("dontfork.ts");
  const [before, after] = lines(r.stdout);
  expect(Number(before!.split(" ")[1])).toBeGreaterThanOrEqual(1);
  expect(after).toBe("after 0 wasm true heap 2000");
});
