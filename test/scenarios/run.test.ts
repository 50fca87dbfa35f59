// `bun-snapshot run` and the safe preload start the script as plain `bun` would, only with the
// switches: descriptors inherited above 2 kept (Bun marks them close-on-exec as it starts), .env
// left to the final process (never exported to its environment), and a re-exec that fails
// (E2BIG) leaves one line on stderr and a process that runs on, not snapshot-safe.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages } from "../../src/errors.ts";
import { FIXTURES, killTree, lines, ROOT } from "../helpers.ts";

setDefaultTimeout(60_000);

const APP = join(FIXTURES, "run-app.ts");
const dir = mkdtempSync(join(tmpdir(), "bsnap-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, ".env"), "FROM_DOTENV=yes\n");

// The ways to start the app snapshot-safe, from `dir` (its .env), without the switches.
const WAYS: Record<string, string[]> = {
  run: [process.execPath, join(ROOT, "src/cli/main.ts"), "run", APP],
  "run --no-env-file": [process.execPath, join(ROOT, "src/cli/main.ts"), "run", "--no-env-file", APP],
  preload: [process.execPath, "--preload", join(ROOT, "src/safe/preload.ts"), APP],
};

// The environment of the test without the switches, so that the app is re-executed.
function plainEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("BUN_JSC_") && k !== "FROM_DOTENV") env[k] = v;
  return { ...env, ...extra };
}

// Runs `cmd` from `dir` with descriptor 7 open on a file; returns its output and the file's text.
async function start(cmd: string[], env: Record<string, string>) {
  const file = join(dir, `fd7-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(file, "w");
  const p = Bun.spawn(cmd, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe", null, null, null, null, fd] as never });
  closeSync(fd);
  const timer = setTimeout(() => killTree(p.pid), 20_000);
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  clearTimeout(timer);
  return { stdout, stderr, exitCode: p.exitCode, fd7: readFileSync(file, "utf8") };
}

// Bun 1.2 has no --no-env-file (measured on 1.2.23: `bun --no-env-file app.ts` loads .env):
// there the script sees the .env as plain bun gives it.
const NO_ENV_FILE = !Bun.version.startsWith("1.2.");

describe("started snapshot-safe, the script sees what plain bun would give it", () => {
  for (const [way, cmd] of Object.entries(WAYS)) {
    const skipsEnv = way.includes("no-env") && NO_ENV_FILE;
    test(`${way}: descriptor 7 kept, .env ${skipsEnv ? "not loaded" : "loaded by Bun but not exported"}, snapshot-safe`, async () => {
      const r = await start(cmd, plainEnv());
      expect(lines(r.stdout)).toEqual([
        "fd7 ok",
        skipsEnv ? "dotenv unset environ clean" : "dotenv yes environ clean",
        "snapshot ok",
      ]);
      expect(r.fd7).toBe("written through 7\n");
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
    });
  }
});

test("bunfig.toml preloads, the safe one first: each runs once, in the final process", async () => {
  const d = mkdtempSync(join(dir, "bunfig-"));
  writeFileSync(join(d, "count.ts"), `require("fs").appendFileSync(${JSON.stringify(join(d, "count"))}, process.pid + "\\n");\n`);
  writeFileSync(join(d, "bunfig.toml"), `preload = [${JSON.stringify(join(ROOT, "src/safe/preload.ts"))}, "./count.ts"]\n`);
  const p = Bun.spawn([process.execPath, APP], { cwd: d, env: plainEnv(), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => killTree(p.pid), 20_000);
  const stdout = await new Response(p.stdout).text();
  await p.exited;
  clearTimeout(timer);
  expect(lines(stdout).at(-1)).toBe("snapshot ok");
  expect(lines(readFileSync(join(d, "count"), "utf8"))).toEqual([String(p.pid)]);
});

// The kernel's limit on an exec's arguments and environment (fs/exec.c): a quarter of the
// stack limit, at most 6 MiB, at least 128 KiB; the strings and one pointer for each count.
function argLimit(): number {
  const m = /Max stack size\s+(\S+)/.exec(readFileSync("/proc/self/limits", "utf8"));
  const soft = m && m[1] !== "unlimited" ? Number(m[1]) : Infinity;
  return Math.max(Math.min(6 * 1024 * 1024, soft / 4), 128 * 1024);
}

// An environment that, with `argv` run through `path`, leaves `room` bytes under the limit.
function fullEnv(path: string, argv: string[], room: number): Record<string, string> {
  const env = plainEnv();
  const used = () =>
    [path, ...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].reduce((n, s) => n + Buffer.byteLength(s) + 1, 0) +
    8 * (argv.length + Object.keys(env).length);
  for (let i = 0; used() < argLimit() - room; i++) {
    const name = `PAD${i}`;
    env[name] = "";
    env[name] = "x".repeat(Math.min(120_000, argLimit() - room - used()));
  }
  return env;
}

describe("a re-exec that fails (E2BIG: no room for the switches)", () => {
  for (const way of ["run", "preload"]) {
    test(`${way}: one line on stderr, the script runs on, and a snapshot refuses with EUNSAFE saying why`, async () => {
      const cmd = WAYS[way]!;
      const r = await start(cmd, fullEnv(cmd[0]!, cmd, 64));
      expect(r.stderr).toBe(messages.reexecFailed("E2BIG") + "\n");
      expect(lines(r.stdout)).toEqual([
        "fd7 ok",
        "dotenv yes environ clean",
        `snapshot EUNSAFE: ${messages.unsafe(messages.reexecReason("E2BIG"))}`,
      ]);
      expect(r.exitCode).toBe(0);
    });
  }
});
