// Anywhere but Linux on x64 or arm64, every call throws SnapshotError ENOTSUP saying what is supported.
import { expect, setDefaultTimeout, test } from "bun:test";
import { messages } from "../../src/errors.ts";
import { lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

for (const [platform, arch] of [["darwin", "arm64"], ["win32", "x64"], ["linux", "ia32"]] as const) {
  test(`${platform}/${arch}: every call throws ENOTSUP`, async () => {
    const r = await runFixture("platform.ts", [platform, arch]);
    const msg = messages.notSupported(platform, arch);
    expect(lines(r.stdout)).toEqual(["snapshot", "fork", "trial", "revert", "revertTo", "commit"].map((n) => `${n} ENOTSUP ${msg}`));
  });
}
