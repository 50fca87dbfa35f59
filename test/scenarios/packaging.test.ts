// The package as others get it: an app bundled (`bun build --target bun`) or compiled
// (`bun build --compile`) keeps signal forwarding (the C handler travels inside the module);
// under Node the import fails with one clear line; a consumer with strict compiler flags
// type-checks against the TypeScript source.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killTree, lines, readUntil, ROOT, SAFE_ENV } from "../helpers.ts";

setDefaultTimeout(120_000);
const work = mkdtempSync(join(tmpdir(), "snap-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Builds test/fixtures/signals.ts with `bun build <flags>`; the command that runs the result.
function build(flags: string[], out: string): string[] {
  const r = Bun.spawnSync([process.execPath, "build", ...flags, join(ROOT, "test/fixtures/signals.ts"), "--outfile", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).not.toContain("error");
  expect(r.exitCode).toBe(0);
  return flags.includes("--compile") ? [out] : [process.execPath, out];
}

// Runs a built signals fixture: SIGTERM to the waiting parent reaches the child's handler.
async function forwards(cmd: string[]): Promise<void> {
  const proc = Bun.spawn(["setsid", ...cmd, "term-handlers"], { cwd: work, env: { ...process.env, ...SAFE_ENV }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => killTree(proc.pid), 30_000);
  const { all } = await readUntil(proc.stdout as ReadableStream<Uint8Array>, (t) => /^ready \d+$/m.test(t));
  proc.kill("SIGTERM");
  const out = lines(await all);
  const err = await new Response(proc.stderr).text();
  await proc.exited;
  clearTimeout(timer);
  expect(err).toBe("");
  expect(out.slice(1)).toEqual(["app SIGTERM at depth 1", "child SIGTERM", "parent resumed, child 0", "app SIGTERM at depth 0", "parent still running"]);
  expect(proc.exitCode).toBe(0);
}

test("an app bundled with bun build --target bun keeps signal forwarding", async () => {
  await forwards(build(["--target", "bun"], join(work, "bundled.js")));
});

test("an app compiled with bun build --compile keeps signal forwarding", async () => {
  await forwards(build(["--compile"], join(work, "compiled")));
});

// A consumer directory whose node_modules has this package (and what it needs) by symlink.
function consumer(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  symlinkSync(ROOT, join(dir, "node_modules/bun-snapshot"));
  for (const m of readdirSync(join(ROOT, "node_modules"))) if (!m.startsWith(".")) symlinkSync(join(ROOT, "node_modules", m), join(dir, "node_modules", m));
  return dir;
}

test.skipIf(!Bun.which("node"))("under Node, importing the package throws one clear line", () => {
  const dir = consumer("node");
  for (const spec of ["bun-snapshot", "bun-snapshot/client", "bun-snapshot/attach"]) {
    const r = Bun.spawnSync(["node", "--input-type=module", "-e", `import ${JSON.stringify(spec)};`], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain("Error: bun-snapshot runs on Bun only (https://bun.sh): start this program with `bun`, not `node`\n");
  }
});

test("a consumer with strict compiler flags (exactOptionalPropertyTypes, noPropertyAccessFromIndexSignature, ...) type-checks", () => {
  const dir = consumer("tsc");
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ESNext", module: "Preserve", moduleResolution: "bundler", moduleDetection: "force", allowImportingTsExtensions: true,
        verbatimModuleSyntax: true, noEmit: true, skipLibCheck: true, lib: ["ESNext"], types: ["bun"],
        strict: true, exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true, noUncheckedIndexedAccess: true,
        noImplicitOverride: true, noImplicitReturns: true, noFallthroughCasesInSwitch: true, useUnknownInCatchVariables: true,
      },
      files: ["consumer.ts"],
    }),
  );
  writeFileSync(
    join(dir, "consumer.ts"),
    [
      'import { snapshot, trial, lastOutcome, type SnapshotOptions } from "bun-snapshot";',
      'import { attachEval } from "bun-snapshot/client";',
      'import { expose } from "bun-snapshot/attach";',
      'const o: SnapshotOptions = { label: "x", isolation: { files: "own" } };',
      "if (snapshot(o)) process.exit(0);",
      "const r = trial(() => 1);",
      "export const v: number | undefined = r.ok ? r.value : lastOutcome()?.exitCode ?? undefined;",
      "expose({ v });",
      'export const a = attachEval(1, "1", { timeoutMs: 10 });',
    ].join("\n"),
  );
  const r = Bun.spawnSync([join(ROOT, "node_modules/.bin/tsc"), "-p", dir], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  expect(r.stdout.toString() + r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});

test("package.json: MIT with a LICENSE file shipped, repository, homepage, keywords, a subpath for the client", async () => {
  const pkg = (await Bun.file(join(ROOT, "package.json")).json()) as Record<string, unknown>;
  expect(pkg["license"]).toBe("MIT");
  expect((await Bun.file(join(ROOT, "LICENSE")).text()).startsWith("MIT License")).toBe(true);
  expect(pkg["files"]).toContain("LICENSE");
  expect(pkg["repository"]).toBeDefined();
  expect(pkg["homepage"]).toBeDefined();
  expect((pkg["keywords"] as string[]).length).toBeGreaterThan(0);
  expect(Object.keys(pkg["exports"] as object)).toEqual([".", "./safe", "./attach", "./client", "./package.json"]);
});
