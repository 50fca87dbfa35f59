// trial() of an async function in a server's handler, the server in one process and its client
// in another: the server keeps serving while two 900 ms trials run in copies that answer nobody.
// Bun.serve, Hono, Elysia and Express (real packages).
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { descendants, FIXTURES, killTree, readUntil, ROOT, runFixture, SAFE_ENV } from "../helpers.ts";

setDefaultTimeout(60_000);

describe("a server whose handler awaits trial(async ...)", () => {
  for (const kind of ["bun", "hono", "elysia", "express"]) {
    test(`${kind}: every write is answered by the server itself at once, none lost; the trials' deletes stay in their copies; stderr empty`, async () => {
      const server = Bun.spawn([process.execPath, `${FIXTURES}/trial-server.ts`, kind], {
        cwd: ROOT,
        env: { ...process.env, ...SAFE_ENV },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      const stderr = new Response(server.stderr).text();
      const bound = setTimeout(() => killTree(server.pid), 30_000);
      try {
        const { text } = await readUntil(server.stdout, (t) => t.includes("\n"));
        const [, port, pid] = /^port (\d+) pid (\d+)$/m.exec(text)!;
        const run = await runFixture("trial-client.ts", [`http://127.0.0.1:${port}`, pid!], { timeoutMs: 20_000 });
        expect(run.timedOut).toBe(false);
        expect(run.stderr).toBe("");
        const r = JSON.parse(run.stdout);
        // Writes during the trials (the client writes one at a time, ~2 ms apart) and after.
        expect(r.during).toBeGreaterThan(50);
        expect({ allSaved: r.allSaved, allByServer: r.allByServer, lost: r.lost, countBy: r.countBy }).toEqual({ allSaved: true, allByServer: true, lost: 0, countBy: true });
        // Each trial deleted every note in its copy, and saw none of the writes made meanwhile.
        expect(r.trials).toEqual([{ before: true, after: 0, inCopy: true }, { before: true, after: 0, inCopy: true }]);
        expect(r.trialMs).toBeGreaterThanOrEqual(900);
        // No write waited for a trial (900 ms): the longest waited for the two forks themselves.
        expect(r.medianMs).toBeLessThan(10);
        expect(r.maxMs).toBeLessThan(300);
        expect(descendants(server.pid)).toEqual([]);
      } finally {
        clearTimeout(bound);
        server.kill();
        await server.exited;
      }
      expect(await stderr).toBe("");
    });
  }
});
