// A snapshot's child runs only code its parent has compiled: a function first called in a child
// is compiled there, on copy-on-write pages (measured: exitNow alone, 113 of a bare child's 170
// page faults). JSC reports each function as it generates its bytecode
// (BUN_JSC_dumpGeneratedBytecodes=1); after 30 warm rounds, one more round of each kind must
// generate none of the package's functions, in the parent or in the child.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runFixture } from "../helpers.ts";

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
    test(`${kind}: no named function generated`, async () => {
      expect(named(await round(kind))).toEqual([]);
    });
  }
  for (const kind of ["sync", "async"]) {
    test(`trial ${kind}: no named function generated but Bun's own macro`, async () => {
      expect(named(await round(kind)).filter((name) => !BUN_OWN.has(name))).toEqual([]);
    });
  }
  test("the check sees a function compiled in the child", async () => {
    // The same round with a function the parent never called: its name must be reported.
    expect(await round("unrehearsed")).toContain("neverCalledInTheParent");
  });
});
