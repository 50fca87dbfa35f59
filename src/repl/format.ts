// Words of the snapshot REPL: prompts, labels, durations, how a snapshot is named.
import type { Outcome } from "../fork/outcome.ts";
import { describeStatus } from "../status.ts";

// A label cut to fit a prompt or a table cell.
export function short(text: string, max: number): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
}

/** The prompt for a depth and label: `snap> ` at depth 0, `snap[2:before-migration]> ` deeper. */
export function promptFor(d: number, label?: string): string {
  if (d === 0) return "snap> ";
  return `snap[${d}${label ? ":" + short(label, 24) : ""}]> `;
}

// A duration in words: 0.4s, 12s, 3m05s, 1h02m.
export function age(ms: number): string {
  const sec = ms / 1000;
  if (sec < 10) return `${sec.toFixed(1)}s`;
  if (sec < 60) return `${Math.floor(sec)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m${String(Math.floor(sec % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

// Snapshot `d` as the messages name it: `snapshot 2 "before-migration"`.
export function describeSnapshot(d: number, label?: string): string {
  return `snapshot ${d}${label ? ` "${short(label, 40)}"` : ""}`;
}

// What the parent says when its child has ended.
export function endedMessage(d: number, outcome: Outcome, what: string): string {
  return `(back at depth ${d}: ${what} ended with ${describeStatus(outcome.status)})`;
}

