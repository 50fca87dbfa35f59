// A refused snapshot undoes what it prepared (the fork steps' undo): no descriptor left open, no
// signal disposition changed, and SIGTERM still ends a process that has no handler of its own.
// Each preparation step is made to fail in turn (BUN_SNAPSHOT_FAIL_STEP), in a fresh process.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { killTree, readUntil, SAFE_ENV, FIXTURES, ROOT } from "../helpers.ts";

setDefaultTimeout(30_000);

// Runs the fixture, waits for its report, sends SIGTERM, and returns the report and how it ended.
async function refused(step?: string, modes: string[] = []): Promise<{ report: string[]; signal: string | null }> {
  const proc = Bun.spawn([process.execPath, join(FIXTURES, "refused.ts"), modes.join(",")], {
    cwd: ROOT,
    env: { ...process.env, ...SAFE_ENV, BUN_SNAPSHOT_FAIL_STEP: step },
    stdout: "pipe",
    stderr: "inherit",
  });
  const timer = setTimeout(() => killTree(proc.pid), 8_000);
  const { text } = await readUntil(proc.stdout as ReadableStream<Uint8Array>, (t) => t.includes("ready\n"));
  proc.kill("SIGTERM");
  await proc.exited;
  clearTimeout(timer);
  return { report: text.split("\n").filter((l) => l && l !== "ready"), signal: proc.signalCode === null ? null : String(proc.signalCode) };
}

test("every bad option: EINVAL, nothing left open or changed, SIGTERM still ends the process", async () => {
  const { report, signal } = await refused();
  expect(report.length).toBe(15);
  for (const line of report) expect(line).toEndWith(": EINVAL unchanged");
  expect(signal).toBe("SIGTERM");
});

describe("a failure at each preparation step is undone", () => {
  const both = ["check", "identity", "terminal", "lineage", "exit", "isolate", "runtime", "quiesce", "forkable", "epoll"];
  const blockingOnly = ["signals", "channel"];
  const detachedOnly = ["exit-pipe", "handover"];
  const trialOnly = ["said"];
  for (const step of [...both, ...blockingOnly, ...detachedOnly, ...trialOnly]) {
    test(step, async () => {
      const modes = both.includes(step) ? ["blocking", "detached", "trial"] : blockingOnly.includes(step) ? ["blocking", "trial"] : trialOnly.includes(step) ? ["trial"] : ["detached"];
      const { report, signal } = await refused(step, modes);
      expect(report).toEqual(modes.map((m) => `${m}: EIO unchanged`));
      expect(signal).toBe("SIGTERM");
    });
  }
});
