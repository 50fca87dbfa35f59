// The demo of `bun run demo`: a snapshot, a mutation in the child, the parent resuming
// untouched, a nested revertTo, and a trial.
import { depth, fork, lastOutcome, revertTo, snapshot, snapshots, trial } from "../src/index.ts";

const state = { users: new Map([["ada", { balance: 100 }]]), log: ["started"] };
const show = (who: string) =>
  console.log(`${"  ".repeat(depth())}[depth ${depth()} pid ${process.pid}] ${who}: ada has ${state.users.get("ada")!.balance}, log ${JSON.stringify(state.log)}`);

show("original");

// 1. A snapshot: the child breaks things, the parent resumes as it was.
if (snapshot({ label: "experiment" })) {
  state.users.get("ada")!.balance = -1_000_000;
  state.log.push("child was here");
  show("child after a bad migration");
  process.exit(3);
}
const o = lastOutcome()!;
show(`original again (child ${o.pid} ended with exit code ${o.exitCode} after ${o.durationMs.toFixed(1)} ms)`);

// 2. Nested snapshots, then revertTo(0) from depth 3: every level in between ends at once.
const f = fork({ label: "level 1" });
if (f.role === "child") {
  state.log.push("level 1");
  if (snapshot({ label: "level 2" })) {
    state.log.push("level 2");
    if (snapshot({ label: "level 3" })) {
      state.log.push("level 3");
      show("deepest");
      console.log(`${"  ".repeat(depth())}chain: ${snapshots().map((s) => `${s.depth}:${s.label ?? "original"}`).join(" -> ")}`);
      revertTo(0);
    }
    console.log("never printed: level 2 does not resume");
  }
  console.log("never printed: level 1 does not resume");
}
show("original after revertTo(0)");

// 3. A trial: run code in a throwaway copy and bring its value back.
const t = trial(() => {
  state.users.get("ada")!.balance *= 2;
  return { doubled: state.users.get("ada")!.balance, at: new Date(0) };
});
if (t.ok) console.log(`trial returned ${JSON.stringify(t.value)} (a Date came back as ${t.value.at.constructor.name})`);
const bad = trial(() => JSON.parse("{oops"));
if (!bad.ok) console.log(`failing trial: ${bad.error.name}: ${bad.error.message}`);
show("original, untouched by both trials");
