// In an attach copy: what the client asked for, over the connection. `--eval` evaluates and
// answers one JSON line; a session runs the snapshot REPL of `bun-snapshot repl`. Either way
// the copy ends when it is done or the client goes.
import { PassThrough, Writable } from "node:stream";
import { revert, snapshots } from "../api/snapshot.ts";
import type * as ReplStart from "../repl/start.ts";
import type { AttachRequest } from "./paths.ts";

/** The socket of a connection, as the server and the copy see it. */
export type Conn = {
  chunks: Buffer[];
  size: number;
  input?: PassThrough;
  started: boolean;
  dropped: number;
  drain?: () => void;
  timer?: ReturnType<typeof setTimeout>;
  /** Another user's connection: refused once it has spoken (uid of the peer). */
  refusedUid?: number;
};

const exposed: Record<string, unknown> = {};

/** Puts values in scope for attach sessions (`expose({ db, cache })`), next to the app's globals. */
export function expose(values: Record<string, unknown>): void {
  Object.assign(exposed, values);
}

type Vm = typeof import("node:vm");

// Evaluates `code` as a script of statements with the exposed values and the app's globals in
// scope; the completion value is the answer (`1; 2` gives 2), awaited when it is a promise. Code
// with a top-level await is not a script: it runs in an async function, as an expression when it
// is one, else as statements (its value is then what it returns).
async function evaluate(code: string): Promise<unknown> {
  // This copy ends after the answer: the exposed values can be globals here.
  Object.assign(globalThis, exposed);
  const { Script } = require("node:vm") as Vm;
  let script;
  try {
    script = new Script(code, { filename: "attach" });
  } catch (e) {
    if (!(e instanceof SyntaxError) || !/\bawait\b/.test(code)) throw e;
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (body: string) => () => Promise<unknown>;
    let fn;
    try {
      fn = new AsyncFunction(`return (${code}\n);`);
    } catch {
      fn = new AsyncFunction(code);
    }
    return fn();
  }
  const value: unknown = script.runInThisContext();
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function" ? await value : value;
}

/** In the copy: evaluates `code`, answers one JSON line, ends. */
export async function evalSession(s: Bun.Socket<Conn>, code: string): Promise<void> {
  let answer: string;
  try {
    answer = JSON.stringify({ ok: true, value: Bun.inspect(await evaluate(code), { colors: false }) });
  } catch (e) {
    answer = JSON.stringify({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  }
  s.write(`${answer}\n`);
  s.flush();
  s.end();
  revert(0);
}

/** The prompt of an attach session to process `pid`: `attach[4242:1]> `, `attach[4242:2:try]> `. */
export function attachPrompt(pid: number, depth: number, label?: string): string {
  const one = label?.replace(/\s+/g, " ").trim();
  return `attach[${pid}:${depth}${one ? ":" + (one.length > 24 ? one.slice(0, 23) + "…" : one) : ""}]> `;
}

// In the copy: the snapshot REPL of `bun-snapshot repl` (.snap, .back, .to, .snaps, .trial, ...)
// over the connection, from depth 1 (this copy), with the app's globals and the exposed values in
// scope. .exit or Ctrl+D at depth 1 ends the copy (and the session); deeper they revert a level.
export function replSession(s: Bun.Socket<Conn>, req: Extract<AttachRequest, { mode: "repl" }>, rest: string): void {
  const input = new PassThrough();
  s.data.input = input;
  // Bytes the socket did not take yet: sent on "drain"; the stream waits for them.
  let unsent: { bytes: Buffer; cb: (e?: Error | null) => void } | undefined;
  const push = () => {
    if (!unsent) return;
    const n = s.write(unsent.bytes);
    if (n < 0) {
      const { cb } = unsent;
      unsent = undefined;
      return cb(); // the client is gone; "close" ends the copy
    }
    if (n >= unsent.bytes.length) {
      const { cb } = unsent;
      unsent = undefined;
      return cb();
    }
    unsent.bytes = unsent.bytes.subarray(n);
  };
  s.data.drain = push;
  const output = new Writable({
    write(chunk, _enc, cb) {
      unsent = { bytes: Buffer.from(chunk), cb };
      push();
    },
  });
  (output as unknown as { columns: number }).columns = req.columns ?? 80;
  const live = snapshots()[0]!.pid;
  const names = Object.keys(exposed);
  output.write(
    `bun-snapshot attach: a copy of process ${live} (depth 1; the live process goes on untouched). ` +
      `.snap [label] takes a snapshot, .back reverts it, .help lists the commands; .exit or Ctrl+D here ends the session. ` +
      `Ctrl+C cancels a line but cannot interrupt running code over the connection.\n` +
      (names.length ? `In scope: ${names.join(", ")} and the app's globals.\n` : ""),
  );
  // Loaded here, in the copy, so that a server that is never attached to never loads node:repl;
  // require() reads it synchronously, off the work pool.
  const { startSnapshotRepl } = require("../repl/start.ts") as typeof ReplStart;
  startSnapshotRepl({
    input,
    output,
    terminal: req.terminal,
    colors: req.colors ?? req.terminal,
    useGlobal: true,
    context: exposed,
    prompt: (d, label) => attachPrompt(live, d, label),
    // The copy has no terminal of its own: its snapshots never take the server's.
    forkOptions: { foreground: false },
    forkBlocker: () => (unsent || output.writableLength > 0 ? "output to the client is still being sent; try again" : undefined),
    describeAbove: (d, label) => (d === 0 ? { label: "(live process)", where: "start" } : { label: label ?? "-", where: "attached" }),
    onEnd: () => {
      s.flush();
      s.end();
      revert(0);
    },
  });
  if (rest) input.write(rest);
}
