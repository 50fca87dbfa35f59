// A snapshot's child runs only code its parent has compiled: a function first called in a child
// is compiled there, on copy-on-write pages (measured: exitNow alone, 113 of a bare child's 170
// page faults). JSC reports each function as it generates its bytecode
// (BUN_JSC_dumpGeneratedBytecodes=1); after 30 warm rounds, one more round of each kind must
// generate none of the package's functions, in the parent or in the child. (Bun's and Node's own
// may be: a trial child's nested loop, set up in the child, drains what its parent had queued, on
// Bun 1.3 a stream's construction, whose functions the parent had not run yet.)
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFixture } from "../helpers.ts";
import { Glob } from "bun";

setDefaultTimeout(60_000);

// Generated in a trial's child by Bun itself, whatever the package does: the macro (Bun loads
// its module again for each transpiler, and the child's macro call is its first) and an internal
// of Bun 1.3's transpiler.
const BUN_OWN = new Set(["pump", "isEmpty"]);

// Unnamed functions are left out everywhere: the engine's own builtins are unnamed, and Bun 1.3.14
// once generated one in a "code" round during a full-suite run (not seen again in 12 runs of the
// fixture); every function of the package that a child runs has a name (the test's last case
// proves a named one is seen).
const named = (names: string[]) => names.filter((n) => n !== "");

// The names of the package's functions (and the fixture's): declared with "function", as a method,
// or as a function or arrow assigned to a name.
const DECLARED = /\bfunction\s*\*?\s*([A-Za-z_$][\w$]*)|^\s*(?:(?:async|static|get|set|private|export)\s+)*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\([^)]*\)\s*(?::[^{=;]+)?\{|\b([A-Za-z_$][\w$]*)\s*[:=]\s*(?:async\s*)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>)/gm;
const ROOT = join(import.meta.dir, "..", "..");
const OURS = new Set<string>();
for (const file of [...new Glob("src/**/*.ts").scanSync(ROOT), "test/fixtures/child-code.ts"])
  for (const m of readFileSync(join(ROOT, file), "utf8").matchAll(DECLARED)) OURS.add((m[1] ?? m[2] ?? m[3])!);
const ours = (names: string[]) => names.filter((n) => OURS.has(n));

// The names of the functions generated between the fixture's two markers.
function generated(stderr: string): string[] {
  const at = stderr.lastIndexOf("\n=====BEFORE=====\n");
  const end = stderr.lastIndexOf("\n=====AFTER=====\n");
  expect(at).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(at);
  return [...stderr.slice(at, end).matchAll(/^([A-Za-z_$][\w$]*|)#[A-Za-z0-9]+:\[0x/gm)].map((m) => m[1]!);
}

// The dump (megabytes) goes to a file: a pipe that fills up makes stderr writes fail.
async function round(kind: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "child-code-"));
  try {
    const file = join(dir, "stderr");
    const r = await runFixture("child-code.ts", [kind], { env: { BUN_JSC_dumpGeneratedBytecodes: "1" }, timeoutMs: 40_000, wrap: ["sh", "-c", `exec "$0" "$@" 2>${file}`] });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    return generated(readFileSync(file, "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("nothing compiled in the child", () => {
  for (const kind of ["snapshot", "code", "nested", "detached"]) {
    test(`${kind}: none of the package's functions generated`, async () => {
      expect(ours(named(await round(kind)))).toEqual([]);
    });
  }
  for (const kind of ["sync", "async"]) {
    test(`trial ${kind}: none of the package's functions generated but its macro`, async () => {
      expect(ours(named(await round(kind))).filter((name) => !BUN_OWN.has(name))).toEqual([]);
    });
  }
  test("the check sees a function compiled in the child, and knows the package's functions", async () => {
    // The same round with a function the parent never called: its name must be reported.
    expect(ours(await round("unrehearsed"))).toContain("neverCalledInTheParent");
    for (const name of ["exitNow", "forkSnapshot", "enterPlainly", "revertChild", "runInLoop", "pump", "deliver", "prepareAll"]) expect(OURS.has(name)).toBe(true);
    for (const name of ["processTicksAndRejections", "streamConstruct", "emit"]) expect(OURS.has(name)).toBe(false);
  });
});
