// The command line: `ps`, `run --attach`, the attach preload in a process that is not
// snapshot-safe, --eval statements and --json, attachEval from bun-snapshot/client, and the
// conventions (flags in any order, --flag=value and short forms, --version, <command> --help,
// exit statuses 0/1/2).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attachEval } from "bun-snapshot/client";
import pkg from "../../package.json" with { type: "json" };
import { messages, SnapshotError } from "../../src/errors.ts";
import { cli, killStarted, start, startApp } from "../attach-helpers.ts";
import { HAVE_ATTACH, ROOT } from "../helpers.ts";

setDefaultTimeout(30_000);
afterAll(killStarted);

test.skipIf(!HAVE_ATTACH)("ps: this user's attachable processes, pid first, with age and command line; stale sockets removed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "snap-ps-"));
  const env = { BUN_SNAPSHOT_DIR: dir };
  const a = await startApp(env);
  const b = await startApp(env);
  const gone = await startApp(env);
  gone.p.kill("SIGKILL");
  await gone.p.exited;
  expect(existsSync(join(dir, `${gone.pid}.sock`))).toBe(true);
  const r = await cli(["ps"], env);
  expect(r.code).toBe(0);
  const rows = r.out.split("\n").map((l) => l.split("\t"));
  expect(rows.map((row) => Number(row[0]))).toEqual([a.pid, b.pid].sort((x, y) => x - y));
  for (const row of rows) {
    expect(row[1]).toMatch(/^\d+s$/);
    expect(row[2]).toBe(`${process.execPath} ${join(ROOT, "test/fixtures/attach-app.ts")}`);
  }
  expect(existsSync(join(dir, `${gone.pid}.sock`))).toBe(false);
  await a.stop();
  await b.stop();
});

test.skipIf(!HAVE_ATTACH)("run --attach prints the pid once on stderr; the app's own children do not", async () => {
  const app = await start([process.execPath, join(ROOT, "src/cli/main.ts"), "run", "--attach", join(ROOT, "test/fixtures/attach-app.ts")]);
  const pid = Number(app.first.split(" ")[1]);
  expect(await cli(["attach", String(pid), "-e", "typeof process.env.BUN_SNAPSHOT_ANNOUNCE_PID"])).toEqual({ code: 0, out: '"undefined"', err: "" });
  await app.stop();
  const err = await new Response(app.p.stderr).text();
  expect(err).toBe(`${messages.attachAnnounce(pid)}\n`);
});

test("the attach preload in a process that is not snapshot-safe says so once at start and does not listen", async () => {
  const app = await start([process.execPath, "--preload", join(ROOT, "src/attach/preload.ts"), "-e", 'console.log("up"); for await (const _ of Bun.stdin.stream());'], {}, false);
  const pid = app.p.pid;
  expect(existsSync(`/tmp/bun-snapshot-${process.getuid!()}/${pid}.sock`)).toBe(false);
  const r = await cli(["attach", String(pid), "-e", "1"]);
  expect(r.code).toBe(2);
  await app.stop();
  const err = (await new Response(app.p.stderr).text()).trim().split("\n");
  expect(err.length).toBe(1);
  expect(err[0]).toStartWith(`bun-snapshot: attach will not work in process ${pid}: this process is not snapshot-safe (it was started without BUN_JSC_useConcurrentJIT=0`);
});

describe.skipIf(!HAVE_ATTACH)("--eval, --json, attachEval", () => {
  test("statements: the completion value is printed, as bun -p does; a promise is awaited", async () => {
    const app = await startApp();
    const pid = String(app.pid);
    expect(await cli(["attach", pid, "-e", "1; 2"])).toEqual({ code: 0, out: "2", err: "" });
    expect(await cli(["attach", pid, "-e", "const n = state.notes.length; let m = n * 21; m * 2"])).toEqual({ code: 0, out: "42", err: "" });
    expect(await cli(["attach", pid, "-e", "if (state.hits >= 0) { 'yes' } else { 'no' }"])).toEqual({ code: 0, out: '"yes"', err: "" });
    expect(await cli(["attach", pid, "-e", "Promise.resolve(7)"])).toEqual({ code: 0, out: "7", err: "" });
    expect(await cli(["attach", pid, "-e", "await Promise.resolve(8)"])).toEqual({ code: 0, out: "8", err: "" });
    await app.stop();
  });

  test("--json: {ok, value} or {ok, error}; exit 0, 1, 2 as without it", async () => {
    const app = await startApp();
    const pid = String(app.pid);
    expect(await cli(["attach", "--json", pid, "--eval=state.notes"])).toEqual({ code: 0, out: JSON.stringify({ ok: true, value: '[ "live" ]' }), err: "" });
    expect(await cli(["attach", pid, "--json", "-e", "nope.x"])).toEqual({ code: 1, out: JSON.stringify({ ok: false, error: "ReferenceError: nope is not defined" }), err: "" });
    expect(await cli(["attach", "999999", "--json", "-e", "1"])).toEqual({ code: 2, out: JSON.stringify({ ok: false, error: messages.attachNoProcess("999999") }), err: "" });
    await app.stop();
  });

  test("attachEval from bun-snapshot/client: the value, the error, ETIMEDOUT, ESRCH", async () => {
    const app = await startApp();
    expect(await attachEval(app.pid, "state.hits = 5; state.hits * 2")).toEqual({ ok: true, value: "10" });
    expect(await attachEval(app.pid, "throw new TypeError('no')")).toEqual({ ok: false, error: "TypeError: no" });
    const late = await attachEval(app.pid, "for(;;){}", { timeoutMs: 300 }).catch((e) => e);
    expect(late).toBeInstanceOf(SnapshotError);
    expect([late.code, late.message]).toEqual(["ETIMEDOUT", messages.attachTimeout(300)]);
    const none = await attachEval(999999, "1").catch((e) => e);
    expect([none.code, none.message]).toEqual(["ESRCH", messages.attachNoProcess("999999")]);
    await app.stop();
  });
});

describe("conventions", () => {
  test("--version, and --help for every command (exit 0)", async () => {
    expect(await cli(["--version"])).toEqual({ code: 0, out: `bun-snapshot ${pkg.version} (Bun ${Bun.version})`, err: "" });
    expect((await cli(["-v"])).out).toBe(`bun-snapshot ${pkg.version} (Bun ${Bun.version})`);
    for (const cmd of ["run", "attach", "ps", "repl", "doctor"]) {
      const r = await cli([cmd, "--help"]);
      expect([cmd, r.code, r.out.split("\n")[0]]).toEqual([cmd, 0, `Usage: bun-snapshot ${cmd}${cmd === "repl" ? " [--undo[=N]] [module]" : cmd === "run" ? " [--attach] [--] <file> [args...]" : cmd === "doctor" ? " [--json | --markdown]" : cmd === "attach" ? " <pid> [options]" : " [options]"}`]);
      expect((await cli([cmd, "-h"])).code).toBe(0);
    }
    expect((await cli(["--help"])).code).toBe(0);
  });

  test("usage errors exit 2 with the reason", async () => {
    expect(await cli([])).toMatchObject({ code: 2 });
    expect((await cli(["attach"])).err).toStartWith("bun-snapshot attach: name the process: attach <pid>\nUsage: bun-snapshot attach");
    expect((await cli(["attach", "12", "--nope"])).err).toStartWith("bun-snapshot attach: unknown option --nope\n");
    expect((await cli(["attach", "12", "-t", "soon", "-e", "1"])).err).toStartWith('bun-snapshot attach: --timeout takes a whole number of milliseconds above 0, not "soon"\n');
    expect((await cli(["attach", "12", "--eval"])).code).toBe(2);
    expect((await cli(["ps", "extra"])).code).toBe(2);
    expect((await cli(["nope"])).code).toBe(2);
  });

  test.skipIf(!HAVE_ATTACH)("attach flags in any order, --flag=value and short forms", async () => {
    const app = await startApp();
    for (const args of [["-e", "1; 3", String(app.pid)], [`--eval=1; 3`, String(app.pid)], [String(app.pid), "-e1; 3"], ["--timeout=5000", String(app.pid), "--eval", "1; 3"]])
      expect(await cli(["attach", ...args])).toEqual({ code: 0, out: "3", err: "" });
    await app.stop();
  });
});
