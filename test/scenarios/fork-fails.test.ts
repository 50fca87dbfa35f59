// A fork the kernel refuses is a SnapshotError with the errno code, and the caller goes on.
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync } from "node:fs";
import { messages } from "../../src/errors.ts";
import { lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

// A pids cgroup we may create: cgroup v1's pids hierarchy, or v2 with the pids controller (root only).
const base = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"].find((d) => existsSync(`${d}/cgroup.procs`) && existsSync(d === "/sys/fs/cgroup" ? `${d}/cgroup.subtree_control` : d));
const usable = process.getuid?.() === 0 && base !== undefined;

test.skipIf(!usable)("fork() at the pids limit: SnapshotError EAGAIN from fork, errno 11, with what to do", async () => {
  const dir = `${base}/bun-snapshot-test-${process.pid}`;
  mkdirSync(dir);
  try {
    const r = await runFixture("fork-fails.ts", [dir]);
    expect(lines(r.stdout)).toEqual(["true EAGAIN fork 11", messages.forkFailed("EAGAIN"), "still running true"]);
  } finally {
    rmdirSync(dir);
  }
});
