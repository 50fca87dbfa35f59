// Refreshes the doctor table in docs/bun-apis.md: runs `bun src/cli/main.ts doctor --markdown` and puts
// its output between the `<!-- doctor:begin -->` and `<!-- doctor:end -->` markers. Without both
// markers it prints the table and says so, leaving docs/bun-apis.md as it is.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const README = join(ROOT, "docs/bun-apis.md");
const BEGIN = "<!-- doctor:begin -->";
const END = "<!-- doctor:end -->";

const proc = Bun.spawnSync([process.execPath, join(ROOT, "src/cli/main.ts"), "doctor", "--markdown"], {
  cwd: ROOT,
  stdout: "pipe",
  stderr: "inherit",
  timeout: 300_000,
});
// Status 1 only says that some API hangs: the table is still whole.
if (proc.exitCode !== 0 && proc.exitCode !== 1) {
  console.error(`readme-table: \`bun-snapshot doctor --markdown\` failed (${proc.exitCode === null ? `signal ${proc.signalCode}` : `exit code ${proc.exitCode}`}); docs/bun-apis.md left as it is`);
  process.exit(1);
}
const table = proc.stdout.toString().trimEnd();

const readme = readFileSync(README, "utf8");
const begin = readme.indexOf(BEGIN);
const end = readme.indexOf(END, begin + BEGIN.length);
if (begin < 0 || end < 0 || readme.indexOf(BEGIN, begin + 1) >= 0) {
  process.stdout.write(`${table}\n`);
  console.error(`readme-table: docs/bun-apis.md has no single ${BEGIN} ... ${END} block; printed the table above instead, docs/bun-apis.md left as it is`);
  process.exit(1);
}
const next = `${readme.slice(0, begin + BEGIN.length)}\n${table}\n${readme.slice(end)}`;
if (next === readme) console.log("readme-table: docs/bun-apis.md already up to date");
else {
  writeFileSync(README, next);
  console.log("readme-table: docs/bun-apis.md updated");
}
