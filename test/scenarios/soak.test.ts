// The short soak (`bun run soak --short`): snapshots inside detached snapshots whose children use
// the work pool, and trials of warm APIs in a server hammered by a client with a CPU burner
// competing. Every count must be 0; the whole run is bounded from outside.
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { killTree, ROOT } from "../helpers.ts";

setDefaultTimeout(240_000);

test("bun run soak --short: no hang, crash, error or failed request", async () => {
  const p = Bun.spawn([process.execPath, join(ROOT, "soak/run.ts"), "--short"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => killTree(p.pid), 200_000);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  clearTimeout(timer);
  if (p.exitCode !== 0) console.error(out, err);
  expect(out.trim().split("\n").at(-1)).toBe("soak: all counts 0");
  expect(p.exitCode).toBe(0);
});
