// What package.json "engines", .ci/run and the README say of Bun releases agree (issue 15): CI
// runs, by default, exactly the lowest release of each range engines admits, each of them a
// release whose layouts are known, and the README names the same range and releases.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { KNOWN_RELEASES } from "../../src/bun-internals/release.ts";

const ROOT = join(import.meta.dir, "../..");
const engines = pkg.engines.bun;
const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
const ciReleases = /\$\{BUN_SNAPSHOT_CI_RELEASES:-([^}]*)\}/.exec(ci)?.[1]?.trim().split(/\s+/) ?? [];

test("CI runs the lowest release of each range in engines, and those satisfy it", () => {
  const lowest = engines.split("||").map((r) => r.trim().replace(/^>=/, ""));
  expect([...ciReleases].sort()).toEqual([...lowest].sort());
  for (const v of ciReleases) {
    expect(Bun.semver.satisfies(v, engines)).toBe(true);
    expect(KNOWN_RELEASES[v]).toBeDefined();
  }
});

test("engines admits no release CI does not run below the newest line's floor", () => {
  for (const v of ["1.1.0", "1.2.22", "1.3.13", "1.3.15", "1.4.4"]) {
    if (!ciReleases.includes(v)) expect(Bun.semver.satisfies(v, engines)).toBe(false);
  }
});

test("the README names the same engines range and the releases CI runs", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  expect(readme).toContain(`\`"bun": "${engines}"\``);
  for (const v of ciReleases) expect(readme).toContain(`Bun ${v}`);
});
