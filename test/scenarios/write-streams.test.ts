// Data a node:fs write stream had queued at a snapshot is written once, by the parent; the
// child's copy of the queue never writes it again. What the child writes itself is written.
import { expect, test } from "bun:test";
import { ended, lines, runFixture } from "../helpers.ts";

for (const mode of ["queued", "open"]) {
  test(`${mode === "open" ? "an opened stream, a write in flight" : "a stream not opened yet"}: each queued line once`, async () => {
    const run = await runFixture("write-stream.ts", [mode]);
    ended(run);
    const text = JSON.parse(lines(run.stdout)[0]!) as string;
    for (const line of ["queued-1", "queued-2", "child", "after"]) expect(text.split("\n").filter((l) => l === line).length).toBe(1);
    expect(text.indexOf("queued-2")).toBeLessThan(text.indexOf("after"));
  });
}
