// The REPL's history across snapshots: every process of a session appends each line it reads
// to one file, in the order typed, so a parent that resumes after its child ended can show the
// lines typed in the child (its own memory only holds what it had when it forked). Synchronous
// fs only: the promise-based fs that node:repl's own history file uses can hang in a child.
// An attach session keeps its history in memory (a memfd, shared by the snapshots it takes the
// way a file is), never in a file of the server's.
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, memfd } from "../sys/fd.ts";

/** A session's shared history file. */
export interface HistoryFile {
  /** The file's path. */
  path: string;
  /** Whether the file outlives the session (BUN_SNAPSHOT_REPL_HISTORY names it). */
  keep: boolean;
  /** In memory (a memfd, path /proc/self/fd/N): nothing on disk; gone with the session's processes. */
  memory?: boolean;
}

/**
 * A history kept in memory: a memfd the session's snapshots inherit (reopened through
 * /proc/self/fd it is still the same memory), so a parent still sees the lines its child added.
 */
export function memoryHistory(): HistoryFile {
  const fd = memfd("bun-snapshot-repl-history");
  return { path: `/proc/self/fd/${fd}`, keep: true, memory: true };
}

/** Where a `.trial` child leaves its result for the parent: a file next to the history, or a memfd for a history in memory. */
export function trialSlot(h: HistoryFile): { path: string; dispose(): void } {
  if (h.memory) {
    const fd = memfd("bun-snapshot-repl-trial");
    return { path: `/proc/self/fd/${fd}`, dispose: () => close(fd) };
  }
  const path = `${h.path}.trial-${process.pid}`;
  rmSync(path, { force: true });
  return { path, dispose: () => rmSync(path, { force: true }) };
}

/**
 * The session's history file: the one named by BUN_SNAPSHOT_REPL_HISTORY (kept, its lines
 * loaded), else a new empty file in the temp dir, removed when the session ends.
 */
export function openHistory(env: NodeJS.ProcessEnv = process.env): HistoryFile {
  const named = env["BUN_SNAPSHOT_REPL_HISTORY"];
  if (named) {
    appendFileSync(named, "");
    return { path: named, keep: true };
  }
  removeStale(tmpdir());
  const path = join(tmpdir(), `bun-snapshot-repl-${process.pid}-${Date.now().toString(36)}.history`);
  writeFileSync(path, "", { mode: 0o600 });
  return { path, keep: false };
}

// Removes the temporary history files of sessions whose process is gone (killed, so they
// could not remove their own).
function removeStale(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      const m = /^bun-snapshot-repl-(\d+)-[0-9a-z]+\.history(\.trial-\d+)?$/.exec(name);
      if (m && !existsSync(`/proc/${m[1]}`)) rmSync(join(dir, name), { force: true });
    }
  } catch {}
}

/** Appends one line typed at the prompt (one JSON string per file line, so any text fits). */
export function appendHistory(h: HistoryFile, line: string): void {
  try {
    appendFileSync(h.path, JSON.stringify(line) + "\n");
  } catch {}
}

/** The lines typed in this session so far, newest first (readline's order), at most `max`, without repeats in a row. */
export function readHistory(h: HistoryFile, max: number): string[] {
  let text: string;
  try {
    text = readFileSync(h.path, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  const rows = text.split("\n");
  for (let i = rows.length - 1; i >= 0 && out.length < max; i--) {
    if (!rows[i]) continue;
    let line: unknown;
    try {
      line = JSON.parse(rows[i]!);
    } catch {
      continue;
    }
    if (typeof line === "string" && line.trim() !== "" && line !== out[out.length - 1]) out.push(line);
  }
  return out;
}

/** Removes a temporary history file (a kept one stays). */
export function closeHistory(h: HistoryFile): void {
  if (!h.keep) rmSync(h.path, { force: true });
}
