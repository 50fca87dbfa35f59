// The REPL's history across snapshots: every process of a session appends each line it reads
// to one file, in the order typed, so a parent that resumes after its child ended can show the
// lines typed in the child (its own memory only holds what it had when it forked). Synchronous
// fs only: the promise-based fs that node:repl's own history file uses can hang in a child.
// By default the history is in memory (a memfd, shared by the session's snapshots the way a file
// is): nothing of a session is ever written to disk, let alone to a world-writable directory.
// BUN_SNAPSHOT_REPL_HISTORY=file opts in to a file of the user's, opened once without following
// a symlink and used through its descriptor from then on.
import { appendFileSync, fstatSync, readFileSync } from "node:fs";
import { messages } from "../errors.ts";
import { close, memfd, open, O_APPEND, O_CLOEXEC, O_CREAT, O_NOFOLLOW, O_RDWR, S_IFMT, S_IFREG } from "../sys/fd.ts";

/** A session's shared history. */
export interface HistoryFile {
  /** Where to read and append: /proc/self/fd/N, the descriptor of a memfd or of the named file. */
  path: string;
  /** In memory (a memfd): nothing on disk; gone with the session's processes. */
  memory?: boolean;
}


/**
 * A history kept in memory: a memfd the session's snapshots inherit (reopened through
 * /proc/self/fd it is still the same memory), so a parent still sees the lines its child added.
 */
export function memoryHistory(): HistoryFile {
  const fd = memfd("bun-snapshot-repl-history");
  return { path: `/proc/self/fd/${fd}`, memory: true };
}

/**
 * The session's history: in memory, unless BUN_SNAPSHOT_REPL_HISTORY names a file (kept across
 * sessions, its lines loaded). That file is opened without following a symlink, created mode
 * 0600, and must be a regular file; otherwise `warn` gets one line and the history is in memory.
 */
export function openHistory(env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = () => {}): HistoryFile {
  const named = env["BUN_SNAPSHOT_REPL_HISTORY"];
  if (!named) return memoryHistory();
  let fd = -1;
  try {
    fd = open(named, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600);
    if ((fstatSync(fd).mode & S_IFMT) !== S_IFREG) throw new Error("not a regular file");
    return { path: `/proc/self/fd/${fd}` };
  } catch (e) {
    if (fd >= 0) close(fd);
    const why = (e as { code?: string }).code === "ELOOP" ? "it is a symbolic link" : e instanceof Error ? e.message : String(e);
    warn(messages.historyRefused(named, why));
    return memoryHistory();
  }
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
