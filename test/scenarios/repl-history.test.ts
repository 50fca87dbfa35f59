// Where `bun-snapshot repl` keeps what is typed at its prompt: in memory by default (nothing in a
// world-writable directory, nothing on disk at all); in a file only when BUN_SNAPSHOT_REPL_HISTORY
// names one, created 0600 and never through a symbolic link. Driven through a pipe.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages } from "../../src/errors.ts";
import { HAVE_REPL, killTree, ROOT, SAFE_ENV } from "../helpers.ts";

setDefaultTimeout(60_000);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "bsnap-hist-"));
  dirs.push(d);
  return d;
}

// Starts the REPL with `env`, types `lines` one at a time (each after the previous prompt), and
// calls `during` while it still runs; then ends its input. Returns what it printed.
async function repl(env: Record<string, string>, lines: string[], during: (pid: number) => void = () => {}) {
  const p = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), "repl"], {
    cwd: ROOT,
    env: { ...process.env, ...SAFE_ENV, ...env },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => killTree(p.pid), 20_000);
  let stdout = "";
  let ended = false;
  const reading = (async () => {
    for await (const chunk of p.stdout) stdout += Buffer.from(chunk).toString();
    ended = true;
  })();
  const prompts = async (n: number) => {
    while (stdout.split("snap> ").length <= n && !ended) await Bun.sleep(10);
  };
  await prompts(1);
  for (const [i, line] of lines.entries()) {
    p.stdin.write(line + "\n");
    p.stdin.flush();
    await prompts(i + 2);
  }
  during(p.pid);
  p.stdin.end();
  await reading;
  const stderr = await new Response(p.stderr).text();
  await p.exited;
  clearTimeout(timer);
  return { stdout, stderr, exitCode: p.exitCode };
}

test.skipIf(!HAVE_REPL)("by default nothing of the session is written to the temp directory: the history is in memory", async () => {
  const tmp = dir();
  let seen: string[] = [];
  let fds: string[] = [];
  const r = await repl({ TMPDIR: tmp }, ["const secret = 'hunter2'", ".trial 40 + 2"], (pid) => {
    seen = readdirSync(tmp).filter((n) => !n.startsWith("bun-cc"));
    fds = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return "";
      }
    });
  });
  expect(r.stdout).toContain("42");
  expect(seen).toEqual([]);
  expect(fds.filter((l) => l.startsWith(tmp))).toEqual([]);
  expect(fds.filter((l) => l.includes("bun-snapshot-repl-history"))).toHaveLength(1);
});

test.skipIf(!HAVE_REPL)("BUN_SNAPSHOT_REPL_HISTORY=file: created mode 0600, the lines in it", async () => {
  const file = join(dir(), "history");
  await repl({ BUN_SNAPSHOT_REPL_HISTORY: file }, ["1 + 1"]);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(readFileSync(file, "utf8")).toBe('"1 + 1"\n');
});

test.skipIf(!HAVE_REPL)("BUN_SNAPSHOT_REPL_HISTORY naming a symbolic link: refused in one line, the link's target untouched", async () => {
  const d = dir();
  const target = join(d, "target");
  writeFileSync(target, "precious\n", { mode: 0o600 });
  symlinkSync(target, join(d, "history"));
  const r = await repl({ BUN_SNAPSHOT_REPL_HISTORY: join(d, "history") }, ["'typed'"]);
  expect(readFileSync(target, "utf8")).toBe("precious\n");
  const { messages } = await import("../../src/errors.ts");
  expect(r.stderr).toBe(messages.historyRefused(join(d, "history"), "it is a symbolic link") + "\n");
  expect(r.stdout).toContain("typed");
});

// Bun 1.2/1.3: node:repl has no start(); the REPL says so at once.
test.skipIf(HAVE_REPL)("without node:repl's start() (Bun 1.2/1.3), `bun-snapshot repl` says why and exits 1 at once", async () => {
  const p = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), "repl"], { cwd: ROOT, env: { ...process.env, ...SAFE_ENV }, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => killTree(p.pid), 10_000);
  const [err, code] = [await new Response(p.stderr).text(), await p.exited];
  clearTimeout(timer);
  expect({ code, err }).toEqual({ code: 1, err: `bun-snapshot repl: ${messages.replNeedsNewerBun(Bun.version)}\n` });
});
