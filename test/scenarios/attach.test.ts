// Attaching to a live server: a copy of it is inspected and changed while it keeps serving.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages } from "../../src/errors.ts";
import { descendants, HAVE_ATTACH, HAVE_REPL, killTree, readUntil, ROOT, SAFE_ENV } from "../helpers.ts";
import { haveTmux, Tmux } from "../tmux.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const cli = join(ROOT, "src/cli/main.ts");
const procs: number[] = [];
afterAll(() => procs.forEach(killTree));

// Starts a fixture with a piped stdin (closing it ends the fixture); resolves at its first line.
async function start(cmd: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...SAFE_ENV, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  procs.push(p.pid);
  const { text, all } = await readUntil(p.stdout as ReadableStream<Uint8Array>, (t) => t.includes("\n"));
  return { p, first: text.split("\n")[0]!, rest: all, stop: async () => (p.stdin!.end(), await p.exited, await all) };
}

// `bun-snapshot attach <pid> --eval <expr>`: its status and output.
async function attachEval(pid: number, expr: string, env: Record<string, string> = {}) {
  const r = Bun.spawn([process.execPath, cli, "attach", String(pid), "--eval", expr], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err] = [await new Response(r.stdout).text(), await new Response(r.stderr).text()];
  await r.exited;
  return { code: r.exitCode, out: out.trim(), err: err.trim() };
}

test.skipIf(!HAVE_ATTACH)("under load: attach, read state, change it in the copy, detach: no failed request, live state unchanged", async () => {
  const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
  const [, pid, port] = app.first.split(" ").map(Number);
  const load = await start([process.execPath, join(ROOT, "test/fixtures/attach-load.ts"), String(port)]);
  expect(load.first).toBe("loading");
  const seen = await attachEval(pid!, "state.hits > 0 && state.notes.join()");
  expect(seen).toEqual({ code: 0, out: '"live"', err: "" });
  const changed = await attachEval(pid!, '(state.notes.push("copy"), state.hits = -1, state.notes.join())');
  expect(changed).toEqual({ code: 0, out: '"live,copy"', err: "" });
  const live = (await (await fetch(`http://127.0.0.1:${port}/state`)).json()) as { hits: number; notes: string[] };
  expect(live.notes).toEqual(["live"]);
  expect(live.hits).toBeGreaterThan(0);
  const report = (await load.stop()).split("\n").find((l) => l.startsWith("requests"))!;
  const [, n, failed, longest] = /requests (\d+) failed (\d+) longest ([\d.]+)/.exec(report)!.map(Number);
  expect(failed).toBe(0);
  expect(n).toBeGreaterThan(10);
  console.log(`attach under load: ${n} requests, 0 failed, longest answer ${longest} ms`);
  await app.stop();
});

test.skipIf(!HAVE_ATTACH)("an error in the expression: exit status 1 and the error on stderr", async () => {
  const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
  const pid = Number(app.first.split(" ")[1]);
  expect(await attachEval(pid, "state.missing.deeper")).toEqual({ code: 1, out: "", err: "TypeError: undefined is not an object (evaluating 'state.missing.deeper')" });
  await app.stop();
});

// Bun 1.2/1.3 close an unref()'d Unix listener at once: the hook says so, and the app runs on.
test.skipIf(HAVE_ATTACH)("before Bun 1.4 the hook says at start that attaching is unavailable, and the app runs on", async () => {
  const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
  expect(app.first).toMatch(/^ready \d+ \d+$/);
  const pid = Number(app.first.split(" ")[1]);
  expect((await attachEval(pid, "1")).code).toBe(2);
  await app.stop();
  expect(app.p.exitCode).toBe(0);
  expect(await new Response(app.p.stderr).text()).toBe(`${messages.attachUnavailable(pid, messages.attachNeedsNewerBun(Bun.version))}\n`);
});

test("a process without the hook: a clear error, exit status 2", async () => {
  const plain = await start([process.execPath, "-e", "console.log('up'); for await (const _ of Bun.stdin.stream());"]);
  // A socket at its pid's path is not its own: an app killed earlier (SIGKILL, no clean-up) had
  // that pid (seen in a CI run: its removal raced the connect). The client then says "stale".
  rmSync(`/tmp/bun-snapshot-${process.getuid!()}/${plain.p.pid}.sock`, { force: true });
  const r = await attachEval(plain.p.pid, "1");
  expect(r.code).toBe(2);
  expect(r.err).toBe(messages.attachNotAttachable(plain.p.pid, `/tmp/bun-snapshot-${process.getuid!()}/${plain.p.pid}.sock`));
  await plain.stop();
});

test.skipIf(!HAVE_ATTACH)("another user is refused, and the refusal is logged", async () => {
  // The app runs as nobody in a directory of its own; root, another user, may enter it (and
  // so reach the socket) but is refused by the peer check. The app's files are copied there:
  // the checkout may be in a directory nobody cannot enter (a home directory, mktemp -d), and so
  // may Bun itself.
  const dir = mkdtempSync(join(tmpdir(), "snap-attach-"));
  chmodSync(dir, 0o1777);
  cpSync(join(ROOT, "src"), join(dir, "pkg/src"), { recursive: true });
  cpSync(join(ROOT, "test/fixtures/attach-app.ts"), join(dir, "pkg/test/fixtures/attach-app.ts"));
  const canRun = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", "0"]).exitCode === 0;
  const bun = canRun ? process.execPath : join(dir, "bun");
  if (!canRun) cpSync(process.execPath, bun);
  for (const d of ["pkg", "pkg/src", "pkg/test", "pkg/test/fixtures"]) chmodSync(join(dir, d), 0o755);
  const env = { BUN_SNAPSHOT_DIR: join(dir, "sockets"), HOME: dir };
  const app = await start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bun, join(dir, "pkg/test/fixtures/attach-app.ts")], env);
  const pid = Number(app.first.split(" ")[1]);
  const r = await attachEval(pid, "state.hits", env);
  expect(r).toEqual({ code: 1, out: "", err: messages.attachRefused(0) });
  await app.stop();
  const err = await new Response(app.p.stderr).text();
  expect(err).toContain("bun-snapshot: refused an attach from uid 0");
});

// A prompt of an attach session at the end of the screen (tmux drops the trailing space).
function promptAt(pid: number, d: number, label?: string): RegExp {
  return new RegExp(`attach\\[${pid}:${d}${label ? ":" + label : ""}\\]>$`);
}

// The live app's state, from its HTTP server.
async function liveState(port: number) {
  return (await (await fetch(`http://127.0.0.1:${port}/state`)).json()) as { hits: number; notes: string[] };
}

// Runs `fn` with `bun-snapshot attach <pid>` in a tmux session (a real terminal), killed afterwards.
async function attached(pid: number, fn: (t: Tmux) => Promise<void>): Promise<void> {
  const t = Tmux.start(`${process.execPath} ${cli} attach ${pid}`, { cwd: ROOT });
  try {
    await fn(t);
  } finally {
    t.kill();
  }
}

describe.skipIf(!haveTmux() || !HAVE_ATTACH || !HAVE_REPL)("attach sessions in a terminal (tmux)", () => {
  test("a REPL in the copy with the exposed values and the app's globals; Ctrl+D at depth 1 ends it (exit 0); the live state is unchanged", async () => {
    const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
    const [, pid, port] = app.first.split(" ").map(Number);
    try {
      await attached(pid!, async (t) => {
        await t.waitFor(/bun-snapshot attach: a copy of process \d+[\s\S]*In scope: state[\s\S]*attach\[\d+:1\]>$/);
        await t.run('state.notes.push("copy"), state.notes.join("+")', /'live\+copy'\n/);
        await t.run("typeof Bun.serve", /'function'\n/); // the app's globals
        t.press("C-d");
        await t.waitFor(/^EXIT=0$/m);
      });
      expect((await liveState(port!)).notes).toEqual(["live"]);
    } finally {
      await app.stop();
    }
  }, 20_000);

  // An app with two hits and the note "live"; `fn` runs in an attach session to it; afterwards the
  // live state is unchanged and no copy is left.
  async function inSession(fn: (t: Tmux, pid: number) => Promise<void>): Promise<void> {
    const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
    const [, pid, port] = app.first.split(" ").map(Number);
    await fetch(`http://127.0.0.1:${port}/`);
    await fetch(`http://127.0.0.1:${port}/`);
    expect(await liveState(port!)).toEqual({ hits: 2, notes: ["live"] });
    try {
      await attached(pid!, async (t) => {
        await t.waitFor(promptAt(pid!, 1));
        await fn(t, pid!);
        await t.run(".exit", /^EXIT=0$/m);
      });
      // The copies are gone: only the app and nothing under it.
      await Bun.sleep(100);
      expect(descendants(app.p.pid)).toEqual([]);
      expect(await liveState(port!)).toEqual({ hits: 2, notes: ["live"] });
    } finally {
      await app.stop();
    }
  }

  test("at the attached copy's depth: .snaps, .trial, .back, .commit and Ctrl+C; .exit ends it; the live state never changes", () =>
    inSession(async (t, pid) => {
      await t.run("state.notes.push('copy'); state.notes.join('+')", /'live\+copy'\nattach\[\d+:1\]>$/);
      const m = await t.run(".snaps", /depth +pid +label +age +taken at\n([\s\S]*)\nattach\[\d+:1\]>$/);
      const rows = m[1]!.split("\n").map((l) => l.trim().split(/\s{2,}/));
      expect(rows.map((r) => [r[0], r[2], r[4]])).toEqual([
        ["0", "(live process)", "start"],
        ["1", "attach", "attached"],
      ]);
      expect(Number(rows[0]![1])).toBe(pid);
      await t.run(".trial state.hits", /^2\nattach\[\d+:1\]>$/m);
      await t.run(".trial state.hits = 7, state.hits * 6", /^42\nattach\[\d+:1\]>$/m);
      await t.run("state.hits", /^2\nattach\[\d+:1\]>$/m);
      await t.run(".back", /\(at depth 1, where this session started: no snapshot to go back from; \.exit ends the session\)\nattach\[\d+:1\]>$/);
      await t.run(".commit", /\(no commit: commit\(\) in a detached snapshot[^\n]*\)\nattach\[\d+:1\]>$/);
      // Ctrl+C arrives as a byte: it cancels the line and leaves the session as it was.
      t.type("state.hits = 1000", false);
      await t.waitFor(/attach\[\d+:1\]> state\.hits = 1000$/);
      t.press("C-c");
      await t.waitFor(/attach\[\d+:1\]> state\.hits = 1000\nattach\[\d+:1\]>$/);
      await t.run("state.hits", /^2\nattach\[\d+:1\]>$/m);
    }), 30_000);

  // A snapshot taken inside the session (its child used to die of SIGSEGV in its first turn of
  // the event loop: it rebuilt its epoll from the instance the live process had changed since).
  test("a .snap inside the session: its own state, .snaps with three levels, .to 0 and .commit refused, Ctrl+D back with history", () =>
    inSession(async (t, pid) => {
      await t.run("state.notes.push('copy'); const copyPid = process.pid; state.notes.join('+')", /'live\+copy'\nattach\[\d+:1\]>$/);
      await t.run(".snap try", promptAt(pid, 2, "try"));
      await t.run("state.hits = 99; state.notes.length = 0; [state.hits, process.pid === copyPid]", /\[ 99, false \]\nattach\[\d+:2:try\]>$/);
      const m = await t.run(".snaps", /depth +pid +label +age +taken at\n([\s\S]*)\nattach\[\d+:2:try\]>$/);
      const rows = m[1]!.split("\n").map((l) => l.trim().split(/\s{2,}/));
      expect(rows.map((r) => [r[0], r[2], r[4]])).toEqual([
        ["0", "(live process)", "start"],
        ["1", "attach", "attached"],
        ["2", "try", "input 2: .snap try"],
      ]);
      await t.run(".to 0", /\(\.to 0: depth 0 is the live process, which this attach session cannot revert to; \.to takes a depth from 1 to 1\)\nattach\[\d+:2:try\]>$/);
      await t.run(".commit", /\(no commit: snapshot 1 "attach" above this one is detached[^\n]*\)\nattach\[\d+:2:try\]>$/);
      await t.run("const typedInChild = 1", promptAt(pid, 2, "try"));
      // Ctrl+D deeper reverts one level; the attached copy has its own state; history survives.
      const from = t.mark();
      t.press("C-d");
      await t.waitFor(/\(back at depth 1: snapshot 2 "try" ended with exit code 0\)\nattach\[\d+:1\]>$/, { from });
      await t.run("[state.hits, state.notes.join('+'), process.pid === copyPid]", /\[ 2, 'live\+copy', true \]\nattach\[\d+:1\]>$/);
      t.press("Up");
      t.press("Up");
      await t.waitFor(/attach\[\d+:1\]> const typedInChild = 1$/);
      t.press("C-u");
    }), { timeout: 30_000 });
});
