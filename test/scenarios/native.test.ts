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

// One run: the two children's JSON lines (native, then JavaScript) and the parent's line.
async function run(mode: string, wrap?: string[], args: string[] = [], env?: Record<string, string>): Promise<{ n: Child; js: Child; parent: string }> {
  const r = await runFixture("native-vs-js.ts", [mode, ...args], { timeoutMs: 40_000, ...(wrap ? { wrap } : {}), ...(env ? { env } : {}) });
  expect(r.timedOut).toBe(false);
  const out = lines(r.stdout);
  expect(out.length).toBe(3);
  const [n, js] = out.slice(0, 2).map((l) => JSON.parse(l) as Child);
  for (const c of [n!, js!]) c.isolation.kept.sort((a, b) => a - b);
  return { n: n!, js: js!, parent: String(out[2]) };
}

// What must be equal. The counts of cut connections and of epoll registrations only must be
// there: Bun opens and closes pipes and connections of its own between the two snapshots (seen
// on 1.3.14: one more or one fewer either way), which moves them by one.
function alike(c: Child, mode = ""): unknown {
  const { cut, registrations, ...rest } = c.isolation as Record<string, unknown>;
  if (mode === "shared") expect(cut).toBe(0);
  else expect(cut).toBeGreaterThan(0);
  expect(registrations).toBeGreaterThan(0);
  return { ...c, native: null, isolation: rest };
}

describe("native and JavaScript forks agree", () => {
  // "text": the native fork's child checks Bun's helpers against the table of /proc/self/maps read
  // by its parent, as before Linux 6.11 (since, it asks PROCMAP_QUERY for each mapping it checks).
  for (const mode of ["blocking", "trial", "detached", "closed", "shared", "dbcopy", "dbwritable", "text"]) {
    test(mode === "text" ? "blocking, the mappings read as text (as before Linux 6.11)" : mode, async () => {
      const { n, js, parent } = await run(mode === "text" ? "blocking" : mode, undefined, [], mode === "text" ? { BUN_SNAPSHOT_TEST_TEXT_MAPS: "1" } : undefined);
      expect(n.native).toBe(true);
      expect(js.native).toBe(false);
      expect(n.pid).toBe(true);
      // (With databases "writable" the first child's row is in the file the second reads: what that policy means.)
      if (mode === "dbwritable") js.works["walWrite"] = n.works["walWrite"]!;
      expect(alike(n, mode)).toEqual(alike(js, mode));
      // The parent: its offset, its rows, its server, as before the snapshots.
      expect(parent).toBe(`parent 45 ${mode === "dbwritable" ? 3 : 1} parent` as string);
      // What the child could do: the pool, and the database as the policy says; the helpers' repairs.
      expect(n.works.file).toBe("0123456789");
      expect(n.works.walWrite).toBe(mode === "dbwritable" || mode === "dbcopy" ? "wrote" : "refused");
      expect(n.runtime).toEqual({ pool: "repaired", http: "repaired", agents: true });
    });
  }
});

test("more descriptors than the native tables: isolated all the same (4,200 extra files)", async () => {
  const wrap = ["sh", "-c", 'ulimit -n 9000 && exec "$0" "$@"'];
  const { n, js, parent } = await run("many", wrap, ["4200"]);
  expect(n.isolation["files"]).toBeGreaterThanOrEqual(4203);
  expect(alike(n)).toEqual(alike(js));
  expect(parent).toBe("parent 45 1 parent");
});
