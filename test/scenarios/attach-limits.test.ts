// What a client can make an attachable process hold, and for how long: a copy ends within a
// second or two of its client going, busy or idle; the live process bounds the request line,
// the time to send it, the connections waiting and the copies alive; its socket goes with it.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIMITS } from "../../src/attach/paths.ts";
import { messages } from "../../src/errors.ts";
import { cli, CLI, killStarted, start, startApp, until } from "../attach-helpers.ts";
import { descendants, HAVE_ATTACH, killTree, ROOT } from "../helpers.ts";

setDefaultTimeout(40_000);
afterAll(killStarted);

const sockOf = (pid: number) => `/tmp/bun-snapshot-${process.getuid!()}/${pid}.sock`;

// A client started in the background (its copy outlives nothing: the test kills it).
function client(args: string[]) {
  return Bun.spawn([process.execPath, CLI, "attach", ...args], { cwd: ROOT, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
}

test.skipIf(!HAVE_ATTACH)("--timeout on a busy evaluation: exit 1 saying so, and the copy is gone within 2 s", async () => {
  const app = await startApp();
  const r = await cli(["attach", String(app.pid), "--timeout", "500", "--eval", "for(;;){}"]);
  expect(r).toEqual({ code: 1, out: "", err: messages.attachTimeout(500) });
  await until(() => descendants(app.pid).length === 0, 2000, "the busy copy ended");
  await app.stop();
});

test.skipIf(!HAVE_ATTACH)("a killed client: its idle copy, its busy session, end within 2 s", async () => {
  const app = await startApp();
  const idle = client([String(app.pid), "-e", "new Promise(() => {})"]);
  await until(() => descendants(app.pid).length === 1, 5000, "a copy started");
  idle.kill("SIGKILL");
  await until(() => descendants(app.pid).length === 0, 2000, "the idle copy ended");
  const session = client([String(app.pid)]);
  session.stdin.write("for(;;){}\n");
  await until(() => descendants(app.pid).length === 1, 5000, "a session started");
  await Bun.sleep(300); // the copy is in the loop now
  session.kill("SIGKILL");
  await until(() => descendants(app.pid).length === 0, 2000, "the busy session's copy ended");
  await app.stop();
});

// A raw connection to the app's socket: what it answers, and whether it closed.
async function raw(pid: number) {
  let text = "";
  let closed = false;
  let onDrain = () => {};
  const s = await Bun.connect({
    unix: sockOf(pid),
    socket: { data: (_s, d) => void (text += Buffer.from(d).toString()), close: () => void (closed = true), error: () => void (closed = true), drain: () => onDrain() },
  });
  return { s, text: () => text, closed: () => closed, drained: () => new Promise<void>((r) => (onDrain = r)) };
}

const rss = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))![1]) * 1024;

test.skipIf(!HAVE_ATTACH)("a 512 MiB first line: refused after 64 KiB, the connection cut, the app does not grow and goes on serving", async () => {
  const app = await startApp();
  const before = rss(app.pid);
  const c = await raw(app.pid);
  const chunk = Buffer.alloc(1 << 20, "x");
  let sent = 0;
  while (sent < 512 * chunk.length && !c.closed()) {
    const n = c.s.write(chunk);
    if (n < 0) break;
    sent += n;
    if (n < chunk.length) await Promise.race([c.drained(), Bun.sleep(50)]);
  }
  await until(() => c.closed(), 5000, "the app cut the connection");
  expect(sent).toBeLessThan(64 * chunk.length);
  expect(c.text()).toBe(`${JSON.stringify({ ok: false, error: messages.attachLineTooLong(LIMITS.maxLine) })}\n`);
  expect(rss(app.pid) - before).toBeLessThan(32 << 20);
  expect(await (await fetch(`http://127.0.0.1:${app.port}/`)).text()).toBe("ok");
  await app.stop();
});

test.skipIf(!HAVE_ATTACH)("connections that say nothing: refused after the first-line limit; one past the cap refused at once", async () => {
  const app = await startApp();
  const conns: Awaited<ReturnType<typeof raw>>[] = [];
  for (let i = 0; i < LIMITS.maxConnections; i++) conns.push(await raw(app.pid));
  const over = await raw(app.pid);
  await until(() => over.closed(), 2000, "the connection over the cap closed");
  expect(over.text()).toBe(`${JSON.stringify({ ok: false, error: messages.attachTooManyConnections(LIMITS.maxConnections) })}\n`);
  const t0 = performance.now();
  await until(() => conns.every((c) => c.closed()), LIMITS.firstLineMs + 3000, "the silent connections closed");
  expect(performance.now() - t0).toBeGreaterThan(LIMITS.firstLineMs - 1500);
  expect(conns[0]!.text()).toBe(`${JSON.stringify({ ok: false, error: messages.attachFirstLineLate(LIMITS.firstLineMs) })}\n`);
  // Room again: an evaluation goes through.
  expect(await cli(["attach", String(app.pid), "-e", "state.notes"])).toEqual({ code: 0, out: '[ "live" ]', err: "" });
  await app.stop();
});

test.skipIf(!HAVE_ATTACH)("one copy more than the cap: refused (exit 1) while the others run; room again once they end", async () => {
  const app = await startApp();
  const held = [];
  for (let i = 0; i < LIMITS.maxSessions; i++) {
    held.push(client([String(app.pid), "-e", "new Promise(() => {})"]));
    await until(() => descendants(app.pid).length === i + 1, 5000, `copy ${i + 1} started`);
  }
  expect(await cli(["attach", String(app.pid), "-e", "1"])).toEqual({ code: 1, out: "", err: messages.attachTooManySessions(LIMITS.maxSessions) });
  held.forEach((h) => killTree(h.pid));
  await until(() => descendants(app.pid).length === 0, 2000, "the copies ended");
  await Bun.sleep(100); // the live process reaps them (its exit pipes) on its event loop
  expect(await cli(["attach", String(app.pid), "-e", "1; 2"])).toEqual({ code: 0, out: "2", err: "" });
  await app.stop();
});

// An attachable process that prints "up" and then does what `code` says.
const preloaded = (code: string) => start([process.execPath, "--preload", join(ROOT, "src/attach/preload.ts"), "-e", `console.log("up"); ${code}`]);

for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
  test.skipIf(!HAVE_ATTACH)(`${sig}: the process still ends by the signal, and its socket is gone`, async () => {
    const app = await preloaded("setInterval(() => {}, 1000);");
    expect(existsSync(sockOf(app.p.pid))).toBe(true);
    app.p.kill(sig);
    await app.p.exited;
    expect(app.p.signalCode).toBe(sig);
    expect(existsSync(sockOf(app.p.pid))).toBe(false);
  });
}

test.skipIf(!HAVE_ATTACH)("an app with its own SIGTERM handler keeps it (and its socket); an uncaught error and a normal exit remove the socket", async () => {
  const mark = join(mkdtempSync(join(tmpdir(), "snap-handled-")), "got-sigterm");
  const handled = await preloaded(`process.on("SIGTERM", () => require("node:fs").writeFileSync(${JSON.stringify(mark)}, "")); setInterval(() => {}, 1000);`);
  handled.p.kill("SIGTERM");
  await until(() => existsSync(mark), 2000, "the app's handler ran");
  expect(handled.p.exitCode).toBe(null);
  expect(existsSync(sockOf(handled.p.pid))).toBe(true);
  handled.p.kill("SIGKILL");
  const thrown = await preloaded('setTimeout(() => { throw new Error("boom") }, 50);');
  await thrown.p.exited;
  expect(thrown.p.exitCode).toBe(1);
  expect(existsSync(sockOf(thrown.p.pid))).toBe(false);
  const normal = await preloaded("setTimeout(() => {}, 50);");
  await normal.p.exited;
  expect(normal.p.exitCode).toBe(0);
  expect(existsSync(sockOf(normal.p.pid))).toBe(false);
});
