// The attach client checks whom it talks to before it sends a byte: the socket directory and the
// socket belong to the target's user, nobody else may write in the directory, the socket is no
// symbolic link, and the process listening is the target (SO_PEERCRED). What it prints of what
// the other process sent has no terminal control sequences.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages } from "../../src/errors.ts";
import { cli, killStarted, start, startApp } from "../attach-helpers.ts";
import { HAVE_ATTACH, ROOT } from "../helpers.ts";

setDefaultTimeout(30_000);
afterAll(killStarted);

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const impostorScript = join(ROOT, "test/fixtures/impostor.ts");

// A plain process (not attachable) that stays up until its stdin closes.
const idle = () => start([process.execPath, "-e", "console.log('up'); for await (const _ of Bun.stdin.stream());"]);

test("a socket directory made by another user: refused before connecting, exit 2; the impostor got nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "snap-impostor-"));
  chmodSync(dir, 0o1777);
  cpSync(impostorScript, join(dir, "impostor.ts"));
  chmodSync(join(dir, "impostor.ts"), 0o644);
  const canRun = Bun.spawnSync([...NOBODY, process.execPath, "-e", "0"]).exitCode === 0;
  const bun = canRun ? process.execPath : join(dir, "bun");
  if (!canRun) cpSync(process.execPath, bun);
  const sockets = join(dir, "sockets");
  const target = await idle();
  const impostor = await start([...NOBODY, bun, join(dir, "impostor.ts"), join(sockets, `${target.p.pid}.sock`)], { HOME: dir });
  expect(impostor.first).toBe("listening");
  const r = await cli(["attach", String(target.p.pid), "--eval", "secret.token"], { BUN_SNAPSHOT_DIR: sockets });
  expect(r).toEqual({ code: 2, out: "", err: messages.attachDirNotTheirs(sockets, 65534, target.p.pid, 0) });
  expect((await impostor.stop()).trim().split("\n").at(-1)).toBe("received 0");
  await target.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the target's user, but another process listening: refused after connecting (SO_PEERCRED), nothing sent", async () => {
  const sockets = mkdtempSync(join(tmpdir(), "snap-peer-"));
  const target = await idle();
  const impostor = await start([process.execPath, impostorScript, join(sockets, `${target.p.pid}.sock`)]);
  const r = await cli(["attach", String(target.p.pid), "-e", "1"], { BUN_SNAPSHOT_DIR: sockets });
  expect(r).toEqual({ code: 2, out: "", err: messages.attachPeerMismatch(join(sockets, `${target.p.pid}.sock`), impostor.p.pid, 0, target.p.pid, 0) });
  expect((await impostor.stop()).trim().split("\n").at(-1)).toBe("received 0");
  await target.stop();
});

test("a directory others may write in, a symbolic link, a relative BUN_SNAPSHOT_DIR: refused, exit 2", async () => {
  const open = join(mkdtempSync(join(tmpdir(), "snap-open-")), "sockets");
  const target = await idle();
  const impostor = await start([process.execPath, impostorScript, join(open, `${target.p.pid}.sock`), "open"]);
  expect(await cli(["attach", String(target.p.pid), "-e", "1"], { BUN_SNAPSHOT_DIR: open })).toEqual({ code: 2, out: "", err: messages.attachDirOpen(open, 0o777) });
  // The real socket elsewhere, a link to it where the client looks.
  const linked = mkdtempSync(join(tmpdir(), "snap-link-"));
  symlinkSync(join(open, `${target.p.pid}.sock`), join(linked, `${target.p.pid}.sock`));
  expect(await cli(["attach", String(target.p.pid), "-e", "1"], { BUN_SNAPSHOT_DIR: linked })).toEqual({
    code: 2,
    out: "",
    err: messages.attachSocketOdd(join(linked, `${target.p.pid}.sock`), "a symbolic link"),
  });
  expect(await cli(["attach", String(target.p.pid), "-e", "1"], { BUN_SNAPSHOT_DIR: "" })).toEqual({ code: 2, out: "", err: messages.attachDirRelative("") });
  expect(await cli(["attach", String(target.p.pid), "-e", "1"], { BUN_SNAPSHOT_DIR: "rel/dir" })).toEqual({ code: 2, out: "", err: messages.attachDirRelative("rel/dir") });
  expect((await impostor.stop()).trim().split("\n").at(-1)).toBe("received 0");
  await target.stop();
});

test.skipIf(!HAVE_ATTACH)("control sequences in what the process sent are not printed; --json keeps them escaped", async () => {
  const app = await startApp();
  const code = 'const x = { [Bun.inspect.custom]: () => "\\x1b[2J\\x1b]0;owned\\x07clear\\x9b" }; x';
  expect(await cli(["attach", String(app.pid), "-e", code])).toEqual({ code: 0, out: "clear", err: "" });
  expect(await cli(["attach", String(app.pid), "-e", 'throw new Error("\\x1b[31mred")'])).toEqual({ code: 1, out: "", err: "Error: red" });
  const j = await cli(["attach", String(app.pid), "-e", code, "--json"]);
  expect(JSON.parse(j.out)).toEqual({ ok: true, value: "\x1b[2J\x1b]0;owned\x07clear\x9b" });
  await app.stop();
});

test("a socket gone between the client's check and its connect: not attachable (ENOENT), as if it had never been there", async () => {
  const { connectTo } = await import("../../src/attach/connect.ts");
  const path = join(mkdtempSync(join(tmpdir(), "snap-gone-")), "4242.sock");
  const err = await connectTo({ pid: 4242, uid: process.getuid!(), ppid: 1, path }, () => {}).then(
    () => null,
    (e: unknown) => e as { code: string; message: string },
  );
  expect(err && { code: err.code, message: err.message }).toEqual({ code: "ENOENT", message: messages.attachNotAttachable(4242, path) });
});

test("a socket left by a process that is gone is removed by the client that meets it", async () => {
  const sockets = mkdtempSync(join(tmpdir(), "snap-stale-"));
  mkdirSync(sockets, { recursive: true });
  const gone = await start([process.execPath, impostorScript, join(sockets, "999999.sock")]);
  gone.p.kill("SIGKILL");
  await gone.p.exited;
  const r = await cli(["attach", "999999", "-e", "1"], { BUN_SNAPSHOT_DIR: sockets });
  expect(r).toEqual({ code: 2, out: "", err: messages.attachNoProcessStale(999999, join(sockets, "999999.sock")) });
  expect(await Bun.file(join(sockets, "999999.sock")).exists()).toBe(false);
});
