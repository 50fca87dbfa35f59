// Refreshes the doctor table in README.md: runs `bun src/cli/main.ts doctor --markdown` and puts
// its output between the `<!-- doctor:begin -->` and `<!-- doctor:end -->` markers. Without both
// markers it prints the table and says so, leaving README.md as it is.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const README = join(ROOT, "README.md");
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
  console.error(`readme-table: \`bun-snapshot doctor --markdown\` failed (${proc.exitCode === null ? `signal ${proc.signalCode}` : `exit code ${proc.exitCode}`}); README.md left as it is`);
  process.exit(1);
}
const table = proc.stdout.toString().trimEnd();

const readme = readFileSync(README, "utf8");
const begin = readme.indexOf(BEGIN);
const end = readme.indexOf(END, begin + BEGIN.length);
if (begin < 0 || end < 0 || readme.indexOf(BEGIN, begin + 1) >= 0) {
  process.stdout.write(`${table}\n`);
  console.error(`readme-table: README.md has no single ${BEGIN} ... ${END} block; printed the table above instead, README.md left as it is`);
  process.exit(1);
}
const next = `${readme.slice(0, begin + BEGIN.length)}\n${table}\n${readme.slice(end)}`;
if (next === readme) console.log("readme-table: README.md already up to date");
else {
  writeFileSync(README, next);
  console.log("readme-table: README.md updated");
}
