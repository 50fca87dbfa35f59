// `import { attachEval } from "bun-snapshot/client"`: one evaluation in a copy of a live
// attachable process, for scripts and tests (the CLI's `attach --eval` is built on it).
import { messages, SnapshotError } from "../errors.ts";
import { connectTo, locate } from "./connect.ts";

/** Options of attachEval. */
export interface AttachEvalOptions {
  /** Ends the copy and rejects with ETIMEDOUT when no answer came within this many ms. Undefined: no limit. */
  timeoutMs?: number | undefined;
}

/**
 * The answer of an evaluation: `value` is the completion value as Bun.inspect prints it (a
 * promise is awaited first); `error` says what the code threw, or why the process refused.
 */
export type AttachEvalResult = { ok: true; value: string } | { ok: false; error: string };

/**
 * Evaluates `code` (statements; the completion value is the answer, as `bun -p` prints) in a
 * copy of process `pid`, which goes on serving untouched. Resolves with the answer; rejects with
 * a SnapshotError when there is nothing to attach to or the socket is not the process's
 * (ESRCH, ENOENT, EACCES, ECONNREFUSED, EINVAL), on a timeout (ETIMEDOUT) or a garbled answer (EPROTO).
 */
export async function attachEval(pid: number, code: string, options: AttachEvalOptions = {}): Promise<AttachEvalResult> {
  const { timeoutMs } = options;
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new SnapshotError("EINVAL", messages.badOption("timeoutMs", timeoutMs, "a number of milliseconds above 0"));
  let text = "";
  const conn = await connectTo(locate(pid), (d) => (text += d.toString()));
  conn.write(`${JSON.stringify({ mode: "eval", expr: code })}\n`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = timeoutMs === undefined ? new Promise<never>(() => {}) : new Promise<"late">((r) => (timer = setTimeout(() => r("late"), timeoutMs)));
  const how = await Promise.race([conn.closed, late]);
  clearTimeout(timer);
  if (how === "late") {
    conn.close(); // the copy's watcher sees the hangup and ends it
    throw new SnapshotError("ETIMEDOUT", messages.attachTimeout(timeoutMs!));
  }
  const line = text.split("\n").find((l) => l.trim());
  if (line === undefined) throw new SnapshotError("EPROTO", messages.attachNoAnswer());
  let answer: unknown;
  try {
    answer = JSON.parse(line);
  } catch {
    throw new SnapshotError("EPROTO", messages.attachBadAnswer(JSON.stringify(line.slice(0, 80))));
  }
  const a = answer as { ok?: unknown; value?: unknown; error?: unknown };
  if (a.ok === true && typeof a.value === "string") return { ok: true, value: a.value };
  if (a.ok === false && typeof a.error === "string") return { ok: false, error: a.error };
  throw new SnapshotError("EPROTO", messages.attachBadAnswer(JSON.stringify(line.slice(0, 80))));
}

// Escape sequences (CSI, OSC, DCS/PM/APC strings, two-byte ones) and the other control
// characters a terminal acts on: C0 but tab and newline, DEL, C1.
const CONTROL = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|$)|\x1b[ -~]?|[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;

/** `text` without terminal control sequences, for printing what another process sent. */
export function stripControls(text: string): string {
  return text.replace(CONTROL, "");
}
