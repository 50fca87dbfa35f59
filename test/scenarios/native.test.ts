// The native fork (src/sys/fork-c.ts) and the JavaScript steps it replaces (BUN_SNAPSHOT_NATIVE=0,
// what runs where TinyCC is missing) leave a child alike: the same isolation report, the same
// repairs, the same behaviour, the parent untouched, in every mode and policy; and a process
// with more descriptors than the native tables hold is isolated all the same.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { lines, runFixture } from "../helpers.ts";

setDefaultTimeout(60_000);

interface Child {
  native: boolean;
  pid: boolean;
  isolation: { kept: number[]; databases: string[]; unsafeDatabases: string[] } & Record<string, unknown>;
  runtime: Record<string, unknown>;
  works: Record<string, string>;
}

// One run: the child's JSON line (temporary directory names made alike) and the parent's line.
async function run(mode: string, native: boolean, wrap?: string[], args: string[] = []): Promise<{ child: Child; parent: string }> {
  const r = await runFixture("native-vs-js.ts", [mode, ...args], { env: { BUN_SNAPSHOT_NATIVE: native ? "1" : "0" }, timeoutMs: 40_000, ...(wrap ? { wrap } : {}) });
  expect(r.timedOut).toBe(false);
  const out = lines(r.stdout);
  expect(out.length).toBe(2);
  const child = JSON.parse(out[0]!.replace(/snap-native-[A-Za-z0-9]+/g, "snap-native-X")) as Child;
  child.isolation.kept.sort((a, b) => a - b);
  return { child, parent: out[1]! };
}

describe("native and JavaScript forks agree", () => {
  for (const mode of ["blocking", "trial", "detached", "closed", "shared", "dbcopy", "dbwritable"]) {
    test(mode, async () => {
      const n = await run(mode, true);
      const js = await run(mode, false);
      expect(n.child.native).toBe(true);
      expect(js.child.native).toBe(false);
      expect(n.child.pid).toBe(true);
      expect({ ...n.child, native: null }).toEqual({ ...js.child, native: null });
      // The parent: its offset, its rows, its server, as before the snapshot.
      // (With databases "writable", the child's row is in the parent's file: what that policy means.)
      const rows = mode === "dbwritable" ? 2 : 1;
      expect(n.parent).toBe(`parent 45 ${rows} parent`);
      expect(js.parent).toBe(`parent 45 ${rows} parent`);
      // What the child could do: pool, HTTP thread, and the database as the policy says.
      expect(n.child.works.file).toBe("0123456789");
      expect(n.child.works.fetch).toBe("parent");
      expect(n.child.works.walWrite).toBe(mode === "dbwritable" || mode === "dbcopy" ? "wrote" : "refused");
      expect(n.child.runtime).toEqual({ pool: "repaired", http: "repaired", agents: true });
    });
  }
});

test("more descriptors than the native tables: isolated all the same (4,200 extra files)", async () => {
  const wrap = ["sh", "-c", 'ulimit -n 9000 && exec "$0" "$@"'];
  const n = await run("many", true, wrap, ["4200"]);
  const js = await run("many", false, wrap, ["4200"]);
  expect(n.child.isolation["files"]).toBe(4203);
  expect({ ...n.child, native: null }).toEqual({ ...js.child, native: null });
  expect(n.parent).toBe("parent 45 1 parent");
});
