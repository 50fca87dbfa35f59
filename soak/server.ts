// Soak part (b), the app: a Bun.serve server whose /hit the client hammers, and which runs
// trials one after another, each calling three warm APIs in its child. Prints one JSON line of
// counts once the trials are done, then serves on until its stdin closes. argv: trials, upstream port.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trial } from "../src/index.ts";
import { apis } from "./apis.ts";

const [count, upstream] = [Number(process.argv[2]), Number(process.argv[3])];
const list = apis(mkdtempSync(join(tmpdir(), "soak-app-")), upstream);
const names = Object.keys(list);
let hits = 0;
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(String(++hits)) });
for (const name of names) await list[name]!(); // warm: every helper thread runs in the parent
console.log(JSON.stringify({ port: server.port }));

const counts = { trials: 0, ok: 0, hangs: 0, crashes: 0, errors: 0, firstError: "" };
for (let i = 0; i < count; i++) {
  const three = [0, 1, 2].map((k) => names[(i * 3 + k) % names.length]!);
  const r = await trial(async () => {
    const out: unknown[] = [];
    for (const n of three) out.push(await list[n]!());
    return out;
  }, { timeoutMs: 15_000 });
  counts.trials++;
  if (r.ok) counts.ok++;
  else if (r.outcome.signal === "SIGKILL" && /did not finish/.test(r.error.message)) counts.hangs++;
  else if (r.outcome.signal) counts.crashes++;
  else counts.errors++;
  if (!r.ok && !counts.firstError) counts.firstError = `${three.join(",")}: ${r.error.message} (${r.outcome.signal ?? r.outcome.exitCode})`;
}
console.log(JSON.stringify({ ...counts, hits }));
// Serving on until the runner has stopped its client.
for await (const _ of Bun.stdin.stream());
server.stop(true);
process.exit(0);
