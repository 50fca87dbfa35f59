// A snapshot right after worker.terminate(): refused at once, naming the Worker and what to do;
// after the Worker's "close" it works, and its child may start threads of its own.
import { expect, test } from "bun:test";
import { messages } from "../../src/errors.ts";
import { ended, lines, runFixture } from "../helpers.ts";

const expected = ["answer 42", `refused EBUSY ${messages.workerUnjoined("a Worker (threadId 1)")}`, "after close: child 7 null"];

test("with the package imported by the app", async () => {
  const run = await runFixture("worker-terminated.ts");
  ended(run);
  expect(lines(run.stdout)).toEqual(expected);
});

test("started with the bun-snapshot/safe preload", async () => {
  const run = await runFixture("worker-terminated.ts", [], { bunArgs: ["--preload", "./src/safe/preload.ts"] });
  ended(run);
  expect(lines(run.stdout)).toEqual(expected);
});
