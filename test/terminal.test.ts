// The terminal, in a real pseudo-terminal (tmux): Ctrl+C reaches only the snapshot child, the
// parent gets the terminal back with its settings, Ctrl+Z stops the whole job and fg resumes it.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SAFE_ENV } from "./helpers.ts";

const sessions: string[] = [];
const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { stdout: "pipe", stderr: "pipe" });

// A tmux session running `bash` (so job control works), with the fixture started in it.
function session(mode: string): string {
  const name = `snapterm-${process.pid}-${sessions.length}`;
  sessions.push(name);
  const env = Object.entries(SAFE_ENV).map(([k, v]) => `${k}=${v}`).join(" ");
  const r = tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "bash --norc --noprofile");
  if (r.exitCode !== 0) throw new Error(`tmux: ${r.stderr.toString()}`);
  tmux("send-keys", "-t", name, `PS1='$ '; ${env} ${process.execPath} ${join(import.meta.dir, "fixtures/tty.ts")} ${mode}; echo "exit=$?"`, "Enter");
  return name;
}

const screen = (name: string) => tmux("capture-pane", "-p", "-t", name, "-S", "-100").stdout.toString();

// Waits until the screen matches `re` (every 20 ms, up to 15 s); fails showing the screen.
async function until(name: string, re: RegExp): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const s = screen(name);
    if (re.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} on the screen:\n${s}`);
    await Bun.sleep(20);
  }
}

afterAll(() => {
  for (const s of sessions) tmux("kill-session", "-t", s);
});

describe("in a terminal", () => {
  test("Ctrl+C during a busy child ends only the child; the parent reads a line again", async () => {
    const s = session("busy");
    await until(s, /child busy/);
    tmux("send-keys", "-t", s, "C-c");
    await until(s, /parent back: signal 2 \(SIGINT\)\n.*depth 0 type a line:/);
    tmux("send-keys", "-t", s, "hello", "Enter");
    const out = await until(s, /exit=\d+/);
    expect(out).toContain("depth 0 read: hello");
    expect(out).toContain("exit=0");
  });

  test("Ctrl+C at depth 2 ends only the grandchild; depth 1 reads a line, then the parent", async () => {
    const s = session("nested");
    await until(s, /grandchild busy/);
    tmux("send-keys", "-t", s, "C-c");
    await until(s, /depth 1 back: signal 2 \(SIGINT\)\n.*depth 1 type a line:/);
    tmux("send-keys", "-t", s, "one", "Enter");
    await until(s, /parent back: exit code 0\n.*depth 0 type a line:/);
    tmux("send-keys", "-t", s, "two", "Enter");
    const out = await until(s, /exit=\d+/);
    expect(out).toContain("depth 1 read: one");
    expect(out).toContain("depth 0 read: two");
    expect(out).toContain("exit=0");
  });

  test("terminal settings the child changed (raw mode) are restored: the parent's line echoes once", async () => {
    const s = session("raw");
    await until(s, /parent back: exit code 0\n.*depth 0 type a line:/);
    tmux("send-keys", "-t", s, "abc", "Enter");
    const out = await until(s, /exit=\d+/);
    // Cooked mode again: the typed line is echoed by the terminal once, then read whole.
    expect(out).toMatch(/depth 0 type a line: abc\ndepth 0 read: abc\n/);
  });

  test("Ctrl+Z stops the child and the whole job; fg resumes both and the child has the terminal", async () => {
    const s = session("stop");
    await until(s, /child tick 2/);
    tmux("send-keys", "-t", s, "C-z");
    await until(s, /Stopped/);
    const frozen = screen(s).match(/child tick (\d+)/g)!.length;
    tmux("send-keys", "-t", s, "fg", "Enter");
    await until(s, new RegExp(`child tick ${frozen + 2}`));
    tmux("send-keys", "-t", s, "C-c");
    const out = await until(s, /parent back: signal 2 \(SIGINT\)\n.*depth 0 type a line:/);
    expect(out).toContain("Stopped");
    tmux("send-keys", "-t", s, "done", "Enter");
    // bash ran the command list's echo when the job stopped (exit=147); $? after fg is the job's.
    await until(s, /depth 0 read: done\n\$/);
    tmux("send-keys", "-t", s, 'echo "fg=$?"', "Enter");
    expect(await until(s, /fg=\d+/)).toContain("fg=0");
  });
});
