// The house rules of src/, read from the code's own imports: every import points down the
// layers (or within a folder), there is no cycle, and only src/sys/ touches bun:ffi.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = join(import.meta.dir, "../../src");

// Bottom to top. A file may import from its own layer's folder or from a lower layer.
const LAYERS = [
  ["status.ts", "switches.ts"],
  ["errors.ts"],
  ["sys/"],
  ["proc/", "options.ts"],
  ["bun-internals/", "safe/"],
  ["fork/"],
  ["api/"],
  ["repl/"],
  ["attach/"],
  ["cli/"],
  ["index.ts"],
];

function layerOf(file: string): number {
  return LAYERS.findIndex((l) => l.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p)));
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

// Static imports and re-exports (type-only ones too), as paths relative to src/, and bare modules.
function imports(file: string): { local: string[]; bare: { name: string; typeOnly: boolean }[] } {
  const text = readFileSync(file, "utf8");
  const local: string[] = [];
  const bare: { name: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
    if (m[2]!.startsWith(".")) local.push(relative(SRC, resolve(dirname(file), m[2]!)));
    else bare.push({ name: m[2]!, typeOnly: Boolean(m[1]) });
  }
  return { local, bare };
}

const graph = new Map(files(SRC).map((f) => [relative(SRC, f), imports(f)]));

test("every file of src/ has a layer, and every import points down or across its own folder", () => {
  const upward: string[] = [];
  for (const [file, { local }] of graph) {
    expect(layerOf(file)).toBeGreaterThanOrEqual(0);
    for (const to of local) if (layerOf(to) > layerOf(file)) upward.push(`${file} -> ${to}`);
  }
  expect(upward).toEqual([]);
});

test("no import cycle", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") return void cycles.push([...path.slice(path.indexOf(f)), f].join(" -> "));
    state.set(f, "open");
    for (const to of graph.get(f)?.local ?? []) visit(to, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  expect(cycles).toEqual([]);
});

test("only src/sys/ imports bun:ffi; the attach preload loads no REPL until a session starts", () => {
  const ffi = [...graph].filter(([, i]) => i.bare.some((b) => b.name === "bun:ffi")).map(([f]) => f);
  expect(ffi.every((f) => f.startsWith("sys/"))).toBe(true);
  // Reachable from the preload through imports that load code (type-only ones load nothing).
  const seen = new Set<string>();
  const walk = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(join(SRC, f), "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+"(\.[^"]+)";/gms)) walk(relative(SRC, resolve(dirname(join(SRC, f)), m[1]!)));
  };
  walk("attach/preload.ts");
  expect([...seen].filter((f) => f.startsWith("repl/") || f.startsWith("cli/"))).toEqual([]);
  expect([...seen].filter((f) => graph.get(f)!.bare.some((b) => b.name === "node:repl" && !b.typeOnly))).toEqual([]);
});
