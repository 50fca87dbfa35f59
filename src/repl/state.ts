// The one snapshot REPL session of this process (a snapshot child holds its own copy, as of its
// fork), and what its commands share: output, prompt, forking for a command, resuming.
import type { REPLServer } from "node:repl";
import type vm from "node:vm";
import { depth, fork, revert, snapshots } from "../api/snapshot.ts";
import { SnapshotError } from "../errors.ts";
import type { Fork } from "../fork/fork.ts";
import type { SnapshotOptions } from "../options.ts";
import { age, promptFor, short } from "./format.ts";
import { readHistory, type HistoryFile } from "./history.ts";

/** With --undo, how deep the snapshots of inputs go; past it inputs run without a new one. */
export const UNDO_CAP = 50;

/** The session's undo mode. */
export interface UndoOptions {
  /** Each input that runs code runs in a new snapshot (`.undo`). */
  undo: boolean;
  /** The deepest snapshot undo takes (default UNDO_CAP). */
  undoCap: number;
}

// Where a snapshot was taken: the input count and the text of the input that took it.
export interface Where {
  input: number;
  text: string;
  /** Taken by --undo for an input (its label is the input; the prompt leaves it out). */
  auto: boolean;
}

// A readline key, as node:readline passes it to _ttyWrite.
export interface Key {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

// The internals of node:repl this module builds on (Node's lib/repl.js, which Bun ships).
export type Repl = REPLServer & {
  _ttyWrite: (d: string, key: Key) => void;
  history: string[];
  historySize: number;
  line: string;
};
export type EvalCallback = (err: Error | null, result?: unknown) => void;
export type Eval = (code: string, context: vm.Context, file: string, cb: EvalCallback) => void;

/** A snapshot REPL over a pair of streams (startSnapshotRepl). */
export interface SnapshotReplOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Whether the other end is a terminal (line editing, keys, raw bytes such as Ctrl+C = 0x03). */
  terminal: boolean;
  /** Whether values are printed in color. Undefined: as node:repl decides for the output (NO_COLOR respected). */
  colors?: boolean | undefined;
  /** Values put in scope (live: read through on each use; an assignment shadows one). */
  context?: Record<string, unknown>;
  /** A name for the `context` object itself in scope (e.g. "$module"). */
  contextName?: string;
  /** Evaluate in this process's global object (the app's globals in scope) instead of a new context. */
  useGlobal?: boolean;
  /** Where the history lives across snapshots (default: in memory, this session only). */
  history?: HistoryFile;
  /** The prompt for a depth and label (default promptFor: `snap> `, `snap[2:label]> `). */
  prompt?: (depth: number, label?: string) => string;
  /** Each input that runs code runs in a new snapshot (`.undo`). */
  undo?: boolean;
  /** The deepest snapshot undo takes (default UNDO_CAP). */
  undoCap?: number;
  /** Options of every snapshot the commands take (e.g. `{ foreground: false }` off the terminal). */
  forkOptions?: SnapshotOptions;
  /** Why a snapshot cannot be taken now (e.g. output still being sent), or undefined. */
  forkBlocker?: () => string | undefined;
  /** How `.snaps` names the rows above the session's first depth (default: depth 0 "(original)", "start"). */
  describeAbove?: (depth: number, label?: string) => { label: string; where: string };
  /** The session is over (.exit, Ctrl+D, end of input at the first depth): ends the process. */
  onEnd: (code: number) => void;
}

// The one session of this process (a child holds its own copy, as of its fork).
export interface Session {
  r: Repl;
  o: UndoOptions;
  so: SnapshotReplOptions;
  /** The depth the session started at (0 for `bun-snapshot repl`, 1 in an attach session): it cannot be left, only ended. */
  top: number;
  history: HistoryFile;
  /** Inputs read so far (lines at the prompt), in this line of snapshots. */
  inputs: number;
  /** The last input read. */
  lastLine: string;
  /** Where each snapshot of the chain was taken, by depth. */
  where: Where[];
  /** Eval as node:repl made it (top-level await included), before --undo wraps it. */
  evalInner: Eval;
  /** --undo told that the cap is reached. */
  capTold: boolean;
  /** A `.trial` is running in a copy: kills it (Ctrl+C). */
  trialCancel?: (() => void) | undefined;
  /** Keys left over from the chunk the child already read (dropped in the resumed parent). */
  discarding: boolean;
  committed: boolean;
  /** An input is running. */
  busy: boolean;
}

let current: Session | undefined;

/** The session of this process. */
export function session(): Session {
  return current!;
}

/** Makes `next` the session of this process. */
export function setSession(next: Session): void {
  current = next;
}

// Writes to the REPL's output.
export function say(text: string): void {
  const s = session();
  s.r.output.write(text.endsWith("\n") ? text : text + "\n");
}

// This process's prompt (the label of the session's first depth is left out: it is not one the user gave).
export function currentPrompt(): string {
  const s = session();
  const d = depth();
  const w = s.where[d];
  return (s.so.prompt ?? promptFor)(d, w?.auto || d <= s.top ? undefined : snapshots()[d]?.label);
}

/** The `.snaps` table: depth, pid, label, age and where each snapshot of the chain was taken; the last row is this process. */
export function snapsTable(now = Date.now()): string {
  const s = session();
  const rows = snapshots().map((i) => {
    const w = s.where[i.depth];
    const above = i.depth === 0 || i.depth < s.top || (i.depth === s.top && !w) ? (s.so.describeAbove ?? defaultAbove)(i.depth, i.label) : undefined;
    const where = above ? above.where : w ? `input ${w.input}: ${short(w.text, 50)}` : "?";
    const label = above ? above.label : i.label !== undefined ? short(i.label, 30) : "-";
    return [String(i.depth), String(i.pid), label, age(now - i.takenAt), where];
  });
  const head = ["depth", "pid", "label", "age", "taken at"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (cells: string[]) => cells.map((x, c) => (c === cells.length - 1 ? x : x.padEnd(widths[c]!))).join("  ");
  const lines = [fmt(head), ...rows.map(fmt)];
  if (s.committed) lines.push(`(snapshot ${depth()}, this one, is committed)`);
  return lines.join("\n");
}

// `.snaps` for the depths before the session: depth 0 is the original.
function defaultAbove(d: number, label?: string): { label: string; where: string } {
  return d === 0 ? { label: "(original)", where: "start" } : { label: label ?? "-", where: "before the session" };
}

// Forks for a command; a SnapshotError (EBUSY, EUNSAFE, ...) is told and gives undefined.
export function tryFork(label: string | undefined): Fork | undefined {
  const s = session();
  const blocked = s.so.forkBlocker?.();
  if (blocked) {
    say(`(no snapshot: ${blocked})`);
    return undefined;
  }
  try {
    return fork({ ...s.so.forkOptions, detached: false, ...(label === undefined ? {} : { label }) });
  } catch (e) {
    if (!(e instanceof SnapshotError)) throw e;
    say(`(no snapshot: ${e.message})`);
    return undefined;
  }
}

// In a new child: record where it was taken and show its prompt.
export function entered(auto: boolean): void {
  const s = session();
  s.where[depth()] = { input: s.inputs, text: s.lastLine, auto };
  s.committed = false;
  s.r.setPrompt(currentPrompt());
}

// In a parent whose child has ended: the terminal and readline as this process needs them,
// the history including the child's lines, this depth's prompt.
export function resumed(): void {
  const s = session();
  const r = s.r;
  // Keys of the chunk the child already read (a paste) must not run a second time here.
  s.discarding = true;
  queueMicrotask(() => (s.discarding = false));
  // Only the real terminal has a mode to restore (a socket's client keeps its own raw mode).
  if (r.terminal && (r.input as unknown) === process.stdin && process.stdin.isTTY) {
    try {
      process.stdin.setRawMode(true);
    } catch {}
  }
  r.history = readHistory(s.history, r.historySize);
  r.setPrompt(currentPrompt());
}

// Leaves this snapshot: revert(0); the parent resumes and says so.
export function leave(): never {
  return revert(0);
}

// What a command that reverts says at the session's first depth.
export function atTop(): string {
  const s = session();
  return s.top === 0 ? "(at depth 0, the original: no snapshot to go back from)" : `(at depth ${s.top}, where this session started: no snapshot to go back from; .exit ends the session)`;
}

