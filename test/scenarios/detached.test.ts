// Detached snapshots: fork({ detached: true }) returns at once; the parent reaps without blocking.
import { expect, setDefaultTimeout, test } from "bun:test";
import { messages } from "../../src/errors.ts";
import { lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

test("ten at once: all reaped with their codes, no zombie, the parent's loop never blocked", async () => {
  const r = await runFixture("detached.ts", ["ten"]);
  expect(lines(r.stdout)).toEqual(["codes 0,1,2,3,4,5,6,7,8,9", "left 0 kill-after-reap false", "max loop gap under 50 ms true"]);
});

test("kill(signal) ends the child; exited says by which signal", async () => {
  const r = await runFixture("detached.ts", ["kill"]);
  expect(lines(r.stdout)).toEqual(["kill true", "ended by SIGUSR2"]);
});

test("the live server keeps serving while a detached child runs; the child answers none", async () => {
  const r = await runFixture("detached.ts", ["serving"]);
  expect(lines(r.stdout)).toEqual(["answers 10 all from the parent true", "child ended 0"]);
});

test("commit in a detached child is refused (EINVAL); revertTo(its parent's depth) ends it like revert()", async () => {
  const r = await runFixture("detached.ts", ["unwind"]);
  expect(lines(r.stdout)).toEqual([`commit EINVAL ${messages.detachedUnwind("commit")}`, "child ended 0"]);
});

test("the child's epoll holds only the parent's registrations at the fork; a snapshot inside it reads files", async () => {
  const r = await runFixture("detached.ts", ["epoll"]);
  expect(lines(r.stdout)).toEqual(["leaked 0,0,0", "nested ok,ok,ok"]);
});
