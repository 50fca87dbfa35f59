// Attaching to a live server: a copy of it is inspected and changed while it keeps serving.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages } from "../src/errors.ts";
import { killTree, lines, ROOT, SAFE_ENV } from "./helpers.ts";

const cli = join(ROOT, "src/cli/main.ts");
const procs: number[] = [];
afterAll(() => procs.forEach(killTree));

// Starts a fixture with a piped stdin (closing it ends the fixture); resolves at its first line.
async function start(cmd: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...SAFE_ENV, ...env }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  procs.push(p.pid);
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += Buffer.from(value).toString();
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return out;
      out += Buffer.from(value).toString();
    }
  })();
  return { p, first: out.split("\n")[0]!, rest, stop: async () => (p.stdin!.end(), await p.exited, await rest) };
}

// `bun-snapshot attach <pid> --eval <expr>`: its status and output.
async function attachEval(pid: number, expr: string, env: Record<string, string> = {}) {
  const r = Bun.spawn([process.execPath, cli, "attach", String(pid), "--eval", expr], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err] = [await new Response(r.stdout).text(), await new Response(r.stderr).text()];
  await r.exited;
  return { code: r.exitCode, out: out.trim(), err: err.trim() };
}

test("under load: attach, read state, change it in the copy, detach: no failed request, live state unchanged", async () => {
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

test("an error in the expression: exit status 1 and the error on stderr", async () => {
  const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
  const pid = Number(app.first.split(" ")[1]);
  expect(await attachEval(pid, "state.missing.deeper")).toEqual({ code: 1, out: "", err: "TypeError: undefined is not an object (evaluating 'state.missing.deeper')" });
  await app.stop();
});

test("a process without the hook: a clear error, exit status 2", async () => {
  const plain = await start([process.execPath, "-e", "console.log('up'); for await (const _ of Bun.stdin.stream());"]);
  const r = await attachEval(plain.p.pid, "1");
  expect(r.code).toBe(2);
  expect(r.err).toBe(messages.attachNotAttachable(plain.p.pid, `/tmp/bun-snapshot-${process.getuid!()}/${plain.p.pid}.sock`));
  await plain.stop();
});

test("another user is refused, and the refusal is logged", async () => {
  // The app runs as nobody in a directory of its own; root, another user, may enter it (and
  // so reach the socket) but is refused by the peer check.
  const dir = mkdtempSync(join(tmpdir(), "snap-attach-"));
  chmodSync(dir, 0o1777);
  const env = { BUN_SNAPSHOT_DIR: join(dir, "sockets"), HOME: dir };
  const app = await start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, join(ROOT, "test/fixtures/attach-app.ts")], env);
  const pid = Number(app.first.split(" ")[1]);
  const r = await attachEval(pid, "state.hits", env);
  expect(r).toEqual({ code: 1, out: "", err: messages.attachRefused(0) });
  await app.stop();
  const err = await new Response(app.p.stderr).text();
  expect(err).toContain("bun-snapshot: refused an attach from uid 0");
});

test("an interactive session in a terminal (tmux): a REPL in the copy; .exit ends it; the live state is unchanged", async () => {
  const app = await start([process.execPath, join(ROOT, "test/fixtures/attach-app.ts")]);
  const [, pid, port] = app.first.split(" ").map(Number);
  const name = `snapattach-${process.pid}`;
  const tmux = (...a: string[]) => Bun.spawnSync(["tmux", ...a], { stdout: "pipe", stderr: "pipe" });
  const screen = () => tmux("capture-pane", "-p", "-t", name).stdout.toString();
  const until = async (re: RegExp) => {
    const deadline = Date.now() + 10_000;
    while (!re.test(screen())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${screen()}`);
      await Bun.sleep(20);
    }
    return screen();
  };
  try {
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "30", `${process.execPath} ${cli} attach ${pid}; echo EXIT=$?; sleep 30`);
    await until(/attach\[\d+\]>/);
    tmux("send-keys", "-t", name, 'state.notes.push("copy"), state.notes.join("+")', "Enter");
    await until(/'live\+copy'/);
    tmux("send-keys", "-t", name, ".exit", "Enter");
    expect(await until(/EXIT=\d+/)).toContain("EXIT=0");
    const live = (await (await fetch(`http://127.0.0.1:${port}/state`)).json()) as { notes: string[] };
    expect(live.notes).toEqual(["live"]);
  } finally {
    tmux("kill-session", "-t", name);
    await app.stop();
  }
});
