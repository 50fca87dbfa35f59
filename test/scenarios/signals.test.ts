// Signals aimed at a waiting parent, without a terminal: forwarded to the child, then acted on
// by the parent as without the snapshot (except SIGINT); no child outlives a killed parent.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { killTree, lines, readUntil, SAFE_ENV } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

// Starts the signals fixture in its own process group; resolves once the child said "ready".
async function start(mode: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(["setsid", process.execPath, join(import.meta.dir, "../fixtures/signals.ts"), mode], {
    env: { ...process.env, ...SAFE_ENV, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => killTree(proc.pid), 20_000);
  const readyCount = mode === "orphan-nested" ? 2 : 1;
  const { text, all: rest } = await readUntil(proc.stdout as ReadableStream<Uint8Array>, (t) => (t.match(/^ready \d+$/gm) ?? []).length >= readyCount);
  const children = [...text.matchAll(/^ready (\d+)$/gm)].map((m) => Number(m[1]));
  return {
    proc,
    children,
    async finish() {
      const text = await rest;
      await proc.exited;
      clearTimeout(timer);
      return { out: lines(text), exitCode: proc.exitCode, signal: proc.signalCode };
    },
  };
}

describe("forwarding", () => {
  test("SIGTERM to the parent runs the child's handlers, then the parent's", async () => {
    const f = await start("term-handlers");
    process.kill(f.proc.pid, "SIGTERM");
    const r = await f.finish();
    // The child is a copy of the app: the app's handler runs there first, then the child's own.
    expect(r.out.slice(1)).toEqual(["app SIGTERM at depth 1", "child SIGTERM", "parent resumed, child 0", "app SIGTERM at depth 0", "parent still running"]);
    expect(r.exitCode).toBe(0);
  });

  test("a signal that arrives before the parent is back from fork(): the child gets it, and the parent's own handler still runs after", async () => {
    const f = await start("early", { BUN_SNAPSHOT_ATTACH_DELAY_MS: "300" });
    const r = await f.finish();
    expect(r.out.slice(1)).toEqual(["app SIGTERM at depth 1", "child SIGTERM", "parent resumed, child 0", "app SIGTERM at depth 0", "parent still running"]);
    expect(r.exitCode).toBe(0);
  });

  test("with no handler of its own, the parent dies by SIGTERM after the child ends", async () => {
    const f = await start("term-default");
    process.kill(f.proc.pid, "SIGTERM");
    const r = await f.finish();
    expect(r.out.slice(1)).toEqual(["child SIGTERM"]);
    expect(r.signal).toBe("SIGTERM");
  });

  test("SIGUSR1 and SIGHUP are forwarded; after the child, the parent acts on both as without it", async () => {
    const f = await start("usr1-hup");
    process.kill(f.proc.pid, "SIGUSR1");
    process.kill(f.proc.pid, "SIGHUP");
    const r = await f.finish();
    // The child handled both; then the parent got them back: SIGHUP, which it does not handle,
    // ends it by its default action before its own SIGUSR1 handler had a turn.
    // (Two signals pending at once are delivered lowest number first, so the order varies.)
    expect(r.out.slice(1).sort()).toEqual(["app SIGUSR1 at depth 1", "child SIGHUP", "child SIGUSR1"]);
    expect(r.signal).toBe("SIGHUP");
  });

  test("SIGINT to the whole process group ends the child and leaves the parent running", async () => {
    const f = await start("group-int");
    process.kill(-f.proc.pid, "SIGINT");
    const r = await f.finish();
    expect(r.out.slice(1)).toEqual(["child SIGINT", "parent resumed, child 0", "parent still running"]);
    expect(r.exitCode).toBe(0);
  });
});

describe("no orphans", () => {
  for (const mode of ["orphan-busy", "orphan-async", "orphan-nested"]) {
    test(`SIGKILL to the parent leaves no child alive after 1 s (${mode.slice(7)})`, async () => {
      const f = await start(mode);
      expect(f.children.length).toBe(mode === "orphan-nested" ? 2 : 1);
      process.kill(f.proc.pid, "SIGKILL");
      await f.finish();
      const deadline = Date.now() + 1000;
      const alive = () => f.children.filter((pid) => {
        try {
          const st = readFileSync(`/proc/${pid}/stat`, "latin1");
          return st.slice(st.lastIndexOf(")") + 2)[0] !== "Z";
        } catch {
          return false;
        }
      });
      while (alive().length > 0 && Date.now() < deadline) await Bun.sleep(10);
      expect(alive()).toEqual([]);
    });
  }
});
