// Isolation fails closed: a file the snapshot child cannot reopen (EACCES after a chmod, or
// dropped privileges) is a dead end in the child (writes fail, reads end) rather than the
// parent's description, and the child says so once on stderr; isolation.files "shared" asks
// for the parent's description on purpose.
import { expect, setDefaultTimeout, test } from "bun:test";
import { messages } from "../../src/errors.ts";
import { lines, runFixture, WITHOUT_DAC } from "../helpers.ts";

setDefaultTimeout(60_000);

// Both ways of forking (the native fork, and the JavaScript steps used where TinyCC is missing).
for (const native of ["1", "0"]) {
  test(`a file the child cannot reopen: its writes fail (EPIPE), reads end, the parent's file and offset untouched; said once (BUN_SNAPSHOT_NATIVE=${native})`, async () => {
    const r = await runFixture("isolate-failclosed.ts", [], { wrap: WITHOUT_DAC, env: { BUN_SNAPSHOT_NATIVE: native } });
    expect(r.timedOut).toBe(false);
    expect(lines(r.stdout)).toEqual(["child write EPIPE read 0", "file parent|after|"]);
    const path = /fd (\d+) (\S+): open\(\) failed: EACCES/.exec(r.stderr);
    expect(path).not.toBeNull();
    expect(r.stderr).toBe(messages.isolationFailed([`fd ${path![1]} ${path![2]}: open() failed: EACCES`]) + "\n");
    expect(r.exitCode).toBe(0);
  });
}

test('isolation.files "shared": the child writes through the parent\'s description, silently (the old behaviour, asked for)', async () => {
  const r = await runFixture("isolate-failclosed.ts", ["shared"], { wrap: WITHOUT_DAC });
  expect(lines(r.stdout)).toEqual(["child write 6 read 0", "file parent|child|after|"]);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
});
