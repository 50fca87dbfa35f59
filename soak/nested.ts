// Soak part (a): snapshots taken inside detached snapshots, whose children read files through the
// work pool (what an attach session's .snap does). argv: batches, snapshots per batch, a file
// the counts are appended to. Run snapshot-safe (the soak starts it so).
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fork, lastOutcome, revert, snapshot } from "../src/index.ts";

const [batches, per, out] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]!];
const dir = mkdtempSync(join(tmpdir(), "soak-nested-"));
const data = join(dir, "data.txt");
writeFileSync(data, "y".repeat(4096));
await Bun.file(data).text(); // the pool warm in the root

for (let b = 0; b < batches; b++) {
  const f = fork({ detached: true, label: `batch ${b}` });
  if (f.role === "child") {
    await Bun.file(data).text(); // the detached copy uses the pool too, as a session would
    for (let i = 0; i < per; i++) {
      if (snapshot({ label: "try" })) {
        const a = await Bun.file(data).text();
        const c = await Bun.file(data).text();
        revert(a.length === 4096 && c.length === 4096 ? 0 : 3);
      }
      const o = lastOutcome()!;
      appendFileSync(out, `${o.signal ?? `exit ${o.exitCode}`}\n`);
    }
    revert(0);
  }
  const o = await f.exited;
  if (o.exitCode !== 0) appendFileSync(out, `batch ${o.signal ?? `exit ${o.exitCode}`}\n`);
}
