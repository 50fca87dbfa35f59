// The terminal, in a real pseudo-terminal (tmux): Ctrl+C reaches only the snapshot child, the
// parent gets the terminal back with its settings, Ctrl+Z stops the whole job and fg resumes it.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { SAFE_ENV } from "../helpers.ts";
import { withTmux, type Tmux } from "../tmux.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const fixture = join(import.meta.dir, "../fixtures/tty.ts");

// An interactive bash (job control on) in a fresh session, running the fixture in `mode`.
function inBash(mode: string, fn: (t: Tmux) => Promise<void>): Promise<void> {
  return withTmux("bash --norc --noprofile", { env: SAFE_ENV }, async (t) => {
    t.type(`PS1='$ '; ${process.execPath} ${fixture} ${mode}; echo "exit=$?"`);
    await fn(t);
  });
}

describe("in a terminal", () => {
  test("Ctrl+C during a busy child ends only the child; the parent reads a line again", () =>
    inBash("busy", async (t) => {
      await t.waitFor(/child busy/);
      t.press("C-c");
      await t.waitFor(/parent back: signal 2 \(SIGINT\)\n.*depth 0 type a line:/);
      t.type("hello");
      await t.waitFor(/exit=\d+/);
      expect(t.screen()).toContain("depth 0 read: hello");
      expect(t.screen()).toContain("exit=0");
    }));

  test("Ctrl+C at depth 2 ends only the grandchild; depth 1 reads a line, then the parent", () =>
    inBash("nested", async (t) => {
      await t.waitFor(/grandchild busy/);
      t.press("C-c");
      await t.waitFor(/depth 1 back: signal 2 \(SIGINT\)\n.*depth 1 type a line:/);
      t.type("one");
      await t.waitFor(/parent back: exit code 0\n.*depth 0 type a line:/);
      t.type("two");
      await t.waitFor(/exit=\d+/);
      expect(t.screen()).toContain("depth 1 read: one");
      expect(t.screen()).toContain("depth 0 read: two");
      expect(t.screen()).toContain("exit=0");
    }));

  test("terminal settings the child changed (raw mode) are restored: the parent's line echoes once", () =>
    inBash("raw", async (t) => {
      await t.waitFor(/parent back: exit code 0\n.*depth 0 type a line:/);
      t.type("abc");
      await t.waitFor(/exit=\d+/);
      // Cooked mode again: the typed line is echoed by the terminal once, then read whole.
      expect(t.screen()).toMatch(/depth 0 type a line: abc\ndepth 0 read: abc\n/);
    }));

  test("Ctrl+Z stops the child and the whole job; fg resumes both and the child has the terminal", () =>
    inBash("stop", async (t) => {
      await t.waitFor(/child tick 2/);
      t.press("C-z");
      await t.waitFor(/Stopped/);
      const frozen = t.screen().match(/child tick (\d+)/g)!.length;
      t.type("fg");
      await t.waitFor(new RegExp(`child tick ${frozen + 2}`));
      t.press("C-c");
      await t.waitFor(/parent back: signal 2 \(SIGINT\)\n.*depth 0 type a line:/);
      t.type("done");
      // bash ran the command list's echo when the job stopped (exit=147); $? after fg is the job's.
      await t.waitFor(/depth 0 read: done\n\$/);
      t.type('echo "fg=$?"');
      await t.waitFor(/fg=\d+/);
      expect(t.screen()).toContain("fg=0");
    }));

  test("Ctrl+Z and fg at depth 2: the whole chain stops and resumes; Ctrl+C then ends only the grandchild", () =>
    inBash("stop-nested", async (t) => {
      await t.waitFor(/grandchild tick 2/);
      t.press("C-z");
      await t.waitFor(/Stopped/);
      const frozen = t.screen().match(/grandchild tick (\d+)/g)!.length;
      t.type("fg");
      await t.waitFor(new RegExp(`grandchild tick ${frozen + 2}`));
      t.press("C-c");
      await t.waitFor(/depth 1 back: signal 2 \(SIGINT\)\n.*depth 1 type a line:/);
      t.type("one");
      await t.waitFor(/parent back: exit code 0\n.*depth 0 type a line:/);
      t.type("two");
      await t.waitFor(/depth 0 read: two\n\$/);
      t.type('echo "fg=$?"');
      await t.waitFor(/fg=\d+/);
      expect(t.screen()).toContain("fg=0");
    }));
});
