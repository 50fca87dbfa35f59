// `bun-snapshot repl` and `bun repl` driven through tmux in a real pseudo-terminal: each scenario
// in its own tmux session, each step waits for the screen (never a fixed sleep).
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HAVE_REPL, ROOT, SAFE_ENV } from "../helpers.ts";
import { haveTmux, Tmux } from "../tmux.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const CLI = `bun ${join(ROOT, "src/cli/main.ts")} repl`;
const T = 20_000;

// A prompt at the end of the screen (tmux drops the trailing space).
function prompt(p: string): RegExp {
  return new RegExp(p.trimEnd().replace(/[[\]().*+?^$|{}\\]/g, "\\$&") + "$");
}
const P0 = prompt("snap> ");

// Runs `fn` with a REPL started by `command` in a tmux session, killed afterwards.
// The REPL's temporary history file goes to a temp dir of its own, removed afterwards.
async function session(command: string, fn: (t: Tmux) => Promise<void>, env: Record<string, string> = SAFE_ENV): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "bsnap-repl-test-"));
  const t = Tmux.start(command, { cwd: ROOT, env: { ...env, TMPDIR: tmp } });
  try {
    await fn(t);
  } finally {
    t.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
}

// The REPL's banner, then its first prompt.
async function started(t: Tmux): Promise<void> {
  await t.waitFor(/bun-snapshot repl[\s\S]*snap>$/);
}

// Both need node:repl's start() (Bun 1.4; repl-history.test.ts checks the refusal before it).
describe.skipIf(!haveTmux() || !HAVE_REPL)("bun-snapshot repl", () => {
  test("state diverges after .snap and comes back after .back; the parent says how the child ended", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("let x = 1; const pid0 = process.pid", P0);
      await t.run(".snap try", prompt("snap[1:try]> "));
      await t.run("x = 2; x + 40", /^42\nsnap\[1:try\]>$/m);
      await t.run("process.pid !== pid0", /true\nsnap\[1:try\]>$/);
      await t.run(".back", /\(back at depth 0: snapshot 1 "try" ended with exit code 0\)\nsnap>$/);
      // Exactly these lines: nothing left over from the child, no stray line from the REPL.
      await t.run("[x, process.pid === pid0]", /^snap> \[x, process\.pid === pid0\]\n\[ 1, true \]\nsnap>$/);
      await t.run(".back", /\(at depth 0, the original: no snapshot to go back from\)\nsnap>$/);
    });
  }, T);

  test("a pasted block that takes a snapshot runs once: in the child, not again in the resumed parent", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("let x = 1", P0);
      const from = t.mark();
      t.type(".snap p\rx = 2\r.back\r", false);
      await t.waitFor(/\(back at depth 0: snapshot 1 "p" ended with exit code 0\)\nsnap>$/, { from });
      await t.run("x", /^1\nsnap>$/m);
      expect(t.screen().slice(from)).not.toContain("no snapshot to go back from");
    });
  }, T);

  test(".to 0 from depth 3 unwinds every level; .to checks its depth", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("let x = 'orig'", P0);
      for (const [i, l] of ["a", "b", "c"].entries()) {
        await t.run(`.snap ${l}`, prompt(`snap[${i + 1}:${l}]> `));
        await t.run(`x = '${l}'`, prompt(`snap[${i + 1}:${l}]> `));
      }
      await t.run(".to 3", /\(\.to takes a depth from 0 to 2; this is depth 3\)\nsnap\[3:c\]>$/);
      await t.run(".to 0", /\(back at depth 0: snapshot 1 "a" ended with exit code 0\)\nsnap>$/);
      await t.run("x", /'orig'\nsnap>$/);
      await t.run(".snap", prompt("snap[1]> "));
      await t.run(".snap two", prompt("snap[2:two]> "));
      await t.run(".to 1", /\(back at depth 1: snapshot 2 "two" ended with exit code 0\)\nsnap\[1\]>$/);
    });
  }, T);

  test(".snaps lists the chain with labels and the input that took each (started without the switches: re-executed safe)", async () => {
    await session(
      CLI,
      async (t) => {
        await started(t);
        await t.run("1 + 1", P0);
        await t.run(".snap first", prompt("snap[1:first]> "));
        await t.run(".snap second", prompt("snap[2:second]> "));
        await t.run("'filler'", prompt("snap[2:second]> "));
        await t.run(".snap third", prompt("snap[3:third]> "));
        const m = await t.run(".snaps", /depth +pid +label +age +taken at\n([\s\S]*)\nsnap\[3:third\]>$/);
        const rows = m[1]!.split("\n").map((l) => l.trim().split(/\s{2,}/));
        expect(rows.map((r) => [r[0], r[2], r[4]])).toEqual([
          ["0", "(original)", "start"],
          ["1", "first", "input 2: .snap first"],
          ["2", "second", "input 3: .snap second"],
          ["3", "third", "input 5: .snap third"],
        ]);
        const pids = rows.map((r) => Number(r[1]));
        expect(new Set(pids).size).toBe(4);
        await t.run("process.pid", new RegExp(`^${pids[3]}\\nsnap\\[3:third\\]>$`, "m"));
      },
      {},
    );
  }, T);

  test(".trial evaluates in a throwaway copy: values, awaits, errors and exits leave the state untouched", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("const o = { n: 1 }; const pid0 = process.pid", P0);
      await t.run(".trial o.n = 5, o.n * 2", /^10\nsnap>$/m);
      await t.run("o.n", /^1\nsnap>$/m);
      await t.run(".trial await new Promise((r) => setTimeout(() => r(o.n + 100), 20))", /^101\nsnap>$/m);
      await t.run(".trial nope.x", /^Uncaught ReferenceError: nope is not defined  \(in the trial; nothing changed here\)\nsnap>$/m);
      await t.run(".trial await Promise.reject(new RangeError('no'))", /^Uncaught RangeError: no  \(in the trial; nothing changed here\)\nsnap>$/m);
      await t.run(".trial process.exit(3)", /\(the trial ended with exit code 3 before giving a value; nothing changed here\)\nsnap>$/);
      await t.run(".trial (o.n = 9, await Bun.sleep(300), o.n + 1)", /^10\nsnap>$/m);
      // Ctrl+C kills a running trial; the session goes on in the parent.
      const from = t.mark();
      t.type(".trial await Bun.sleep(30_000)");
      t.press("C-c");
      await t.waitFor(/\(cancelled with Ctrl\+C; nothing changed here\)\nsnap>$/, { from });
      await t.run("[o.n, process.pid === pid0]", /\[ 1, true \]\nsnap>$/);
      expect(t.screen()).not.toContain("ERR_");
    });
  }, T);

  test(".commit then exit ends the whole session with the child's status", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run(".snap keep", prompt("snap[1:keep]> "));
      await t.run(".commit", /\(committed: .*\)\nsnap\[1:keep\]>$/);
      await t.run("process.exit(7)", /^EXIT=7$/m);
      expect(t.screen()).not.toContain("back at depth");
    });
  }, T);

  test("Ctrl+C in a child cancels the line and never reverts; Ctrl+D reverts and says so; Ctrl+D at depth 0 exits", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("let x = 1", P0);
      await t.run(".snap", prompt("snap[1]> "));
      await t.run("x = 2", prompt("snap[1]> "));
      t.type("x = 3", false);
      await t.waitFor(/snap\[1\]> x = 3$/);
      t.press("C-c");
      await t.waitFor(/snap\[1\]> x = 3\nsnap\[1\]>$/);
      t.press("C-c");
      await t.waitFor(/Ctrl\+C does not leave a snapshot: Ctrl\+D or \.back goes back to depth 0\)\nsnap\[1\]>$/);
      await t.run("x", /^2\nsnap\[1\]>$/m);
      t.press("C-d");
      await t.waitFor(/\(back at depth 0: snapshot 1 ended with exit code 0\)\nsnap>$/);
      await t.run("x", /^1\nsnap>$/m);
      t.press("C-d");
      await t.waitFor(/^EXIT=0$/m);
    });
  }, T);

  test("Ctrl+C in a child interrupts a pending await and a busy loop there, and the session stays at depth 1", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("let x = 1", P0);
      await t.run(".snap", prompt("snap[1]> "));
      await t.run("x = 2", prompt("snap[1]> "));
      let from = t.mark();
      t.type("await new Promise(() => {})");
      await t.until("the line was entered (cursor at column 0)", () => t.cursor().x === 0);
      // Under load the key can arrive before the evaluation has begun (readline takes it as a
      // line to cancel); then a second Ctrl+C interrupts the evaluation.
      t.press("C-c");
      await t.waitFor(/interrupted by `SIGINT`[\s\S]*\nsnap\[1\]>$/, { from, timeoutMs: 3000 }).catch(() => {
        t.press("C-c");
        return t.waitFor(/interrupted by `SIGINT`[\s\S]*\nsnap\[1\]>$/, { from });
      });
      from = t.mark();
      t.type("while (true) {}");
      // The loop runs with the terminal out of raw mode (ISIG on), so that Ctrl+C is a signal.
      await t.until("the terminal left raw mode for the loop", () => /(^|\s)isig(\s|$)/.test(t.termios()));
      t.press("C-c");
      await t.waitFor(/interrupted by `SIGINT`[\s\S]*\nsnap\[1\]>$/, { from });
      await t.run("x", /^2\nsnap\[1\]>$/m);
      await t.run(".back", /\(back at depth 0: snapshot 1 ended with exit code 0\)\nsnap>$/);
      await t.run("x", /^1\nsnap>$/m);
    });
  }, T);

  test("top-level await in a child, timers included", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run(".snap", prompt("snap[1]> "));
      await t.run("const v = await new Promise((r) => setTimeout(() => r(41), 20)); v + 1", /^42\nsnap\[1\]>$/m);
      await t.run("await Bun.sleep(10); 'slept'", /^'slept'\nsnap\[1\]>$/m);
      await t.run(".back", P0);
      await t.run("typeof v", /^'undefined'\nsnap>$/m);
    });
  }, T);

  test("history survives a revert: Up in the parent shows a line typed in the child", async () => {
    await session(CLI, async (t) => {
      await started(t);
      await t.run("const before = 1", P0);
      await t.run(".snap", prompt("snap[1]> "));
      await t.run("const typedInChild = 42", prompt("snap[1]> "));
      await t.run(".back", P0);
      t.press("Up");
      await t.waitFor(/snap> \.back$/);
      t.press("Up");
      await t.waitFor(/snap> const typedInChild = 42$/);
      const from = t.mark();
      t.press("Enter");
      await t.waitFor(/^undefined\nsnap>$/m, { from });
      await t.run("typedInChild", /^42\nsnap>$/m);
    });
  }, T);

  test("a module argument: its exports are in scope, live, and roll back with the snapshot", async () => {
    await session(`${CLI} test/fixtures/repl-module.ts`, async (t) => {
      await t.waitFor(/Loaded test\/fixtures\/repl-module\.ts: bump, counter, db[\s\S]*snap>$/);
      await t.run("bump()", /^1\nsnap>$/m);
      await t.run(".snap", prompt("snap[1]> "));
      await t.run("bump(); bump(); db.set('ada', -1); counter", /^3\nsnap\[1\]>$/m);
      await t.run(".back", P0);
      await t.run("[counter, db.get('ada')]", /\[ 1, 100 \]\nsnap>$/);
    });
  }, T);

  test("--undo: every input runs in a snapshot; .undo takes inputs back, state and all", async () => {
    await session(`${CLI} --undo`, async (t) => {
      await t.waitFor(/--undo[\s\S]*snap>$/);
      await t.run("let n = 1", prompt("snap[1]> "));
      await t.run("n += 10", /^11\nsnap\[2\]>$/m);
      await t.run("n *= 2", /^22\nsnap\[3\]>$/m);
      const m = await t.run(".snaps", /taken at\n([\s\S]*)\nsnap\[3\]>$/);
      expect(m[1]!.split("\n").map((l) => l.trim().split(/\s{2,}/)[2])).toEqual(["(original)", "let n = 1", "n += 10", "n *= 2"]);
      await t.run(".undo", /\(back at depth 2: undone: "n \*= 2"; its snapshot ended with exit code 0\)\nsnap\[2\]>$/);
      await t.run(".undo", /\(back at depth 1: undone: "n \+= 10"; its snapshot ended with exit code 0\)\nsnap\[1\]>$/);
      await t.run("n", /^1\nsnap\[2\]>$/m);
      t.press("C-d");
      await t.waitFor(/^EXIT=0$/m);
    });
  }, T);

  test("--undo stops taking snapshots at the cap and says so; .undo then takes back everything since", async () => {
    await session(`${CLI} --undo=2`, async (t) => {
      await t.waitFor(/--undo[\s\S]*snap>$/);
      await t.run("let i = 1", prompt("snap[1]> "));
      await t.run("i += 1", /^2\nsnap\[2\]>$/m);
      await t.run("i += 1", /\(--undo: 2 snapshots deep, the cap: inputs now run without a new snapshot; the next \.undo takes them all back\)\n3\nsnap\[2\]>$/);
      await t.run("i += 1", /^4\nsnap\[2\]>$/m);
      await t.run(".undo", /undone: "i \+= 1"; its snapshot ended with exit code 0\)\nsnap\[1\]>$/);
      await t.run(".undo", /undone: "let i = 1"; .*\nsnap>$/);
      await t.run(".undo", /\(nothing to undo\)\nsnap>$/);
      await t.run("typeof i", /^'undefined'\nsnap\[1\]>$/m);
    });
  }, T);
});

describe.skipIf(!haveTmux() || !HAVE_REPL)("bun repl with snapshot()", () => {
  test("snapshot() continues the session in the child; .exit and Ctrl+D return to the parent, which prints false and holds its values", async () => {
    await session("bun repl", async (t) => {
      await t.waitFor(/❯$/);
      await t.run("let x = 1", /❯$/);
      await t.run('const { snapshot, depth, lastOutcome } = await import("bun-snapshot")', /❯$/);
      await t.run("snapshot()", /^true\n❯$/m);
      await t.run("x = 2; [x, depth()]", /\[ 2, 1 \]\n❯$/);
      await t.run(".exit", /^false\n❯$/m);
      await t.run("[x, depth(), lastOutcome().exitCode, lastOutcome().signal]", /\[ 1, 0, 0, null \]\n❯$/);
      await t.run("snapshot()", /^true\n❯$/m);
      await t.run("x = 3", /^3\n❯$/m);
      const from = t.mark();
      t.press("C-d");
      await t.waitFor(/^false\n❯$/m, { from });
      await t.run("[x, lastOutcome().exitCode]", /\[ 1, 0 \]\n❯$/);
    });
  }, T);

  test("await trial(async ...): the copy works while what is typed goes to the session, which gets the value", async () => {
    await session("bun repl", async (t) => {
      await t.waitFor(/❯$/);
      await t.run('const { trial, depth } = await import("bun-snapshot"); const o = { n: 1 }', /❯$/);
      await t.run("const p = trial(async () => { o.n = 5; await Bun.sleep(1500); return [o.n, depth()] })", /❯$/);
      // Answered by the session at once, while the copy sleeps.
      await t.run("[o.n, depth(), p instanceof Promise]", /\[ 1, 0, true \]\n❯$/);
      await t.run("const r = await p; [r.ok, r.value, o.n]", /\[ true, \[ 5, 1 \], 1 \]\n❯$/);
      await t.run("trial(() => o.n * 10).value", /^10\n❯$/m);
      expect(t.screen()).not.toMatch(/error|ERR_|Unwind/i);
    });
  }, T);
});
