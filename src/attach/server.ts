// Attachable processes: `import "bun-snapshot/attach"` makes this process listen on a Unix
// socket, in a directory only its user can enter, named by pid. A connection from the same user
// gets a detached snapshot of the process (the live one goes on serving; it pauses only for the
// fork) whose child runs a REPL, or evaluates one expression, over the connection. Disconnecting
// ends the child. Anyone else is refused (SO_PEERCRED) and the refusal logged.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { PassThrough, Writable } from "node:stream";
import { revert, snapshots } from "../api/snapshot.ts";
import { messages, SnapshotError } from "../errors.ts";
import { ZIG_LINE } from "../bun-internals/release.ts";
import { forkSnapshot } from "../fork/fork.ts";
import type * as ReplStart from "../repl/start.ts";
import { getpid, getuid } from "../sys/process.ts";
import { peerCredentials } from "../sys/socket.ts";
import { socketDir, socketPath, type AttachRequest } from "./paths.ts";

const exposed: Record<string, unknown> = {};

/** Puts values in scope for attach sessions (`expose({ db, cache })`), next to the app's globals. */
export function expose(values: Record<string, unknown>): void {
  Object.assign(exposed, values);
}

// Creates the socket directory (0700), or checks that an existing one is a real directory of
// this user that nobody else can enter.
function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== getuid() || (st.mode & 0o777) !== 0o700)
    throw new SnapshotError("EACCES", messages.attachDirUnsafe(dir, st.uid, st.mode & 0o777));
}

type Conn = { buf: string; input?: PassThrough; started: boolean; refused?: number; drain?: () => void };

let listening: string | undefined;
const forkTimes: number[] = [];

/** How long each attach held the live process in the fork (ms), for the bench. */
export function attachForkTimes(): readonly number[] {
  return forkTimes;
}

/**
 * Starts listening for `bun-snapshot attach` (once per process; returns the socket's path).
 * The listener does not keep the process alive.
 */
export function listenForAttach(): string {
  if (listening) return listening;
  // Measured on 1.2.23 and 1.3.14: an unref()'d Bun.listen Unix listener is closed (its socket
  // file gone) on the next turn of the loop; a ref'd one would keep every app alive for ever.
  if (ZIG_LINE) throw new SnapshotError("ENOTSUP", messages.attachNeedsNewerBun(Bun.version));
  const dir = socketDir();
  ensureDir(dir);
  const path = socketPath(getpid());
  try {
    unlinkSync(path); // a stale socket of an earlier process with this pid
  } catch {}
  const owner = getpid();
  const server = Bun.listen<Conn>({
    unix: path,
    socket: {
      open(s) {
        s.data = { buf: "", started: false };
        const peer = peerCredentials((s as unknown as { fd: number }).fd);
        if (peer.uid !== getuid()) {
          console.error(messages.attachRefusedLog(peer.uid, peer.pid, getuid()));
          s.data.refused = peer.uid;
        }
      },
      data(s, chunk) {
        // Refused: the answer goes out once the client has spoken, so that it can read it.
        if (s.data.refused !== undefined) {
          if (!s.data.started) s.end(`${JSON.stringify({ ok: false, error: messages.attachRefused(s.data.refused) })}\n`);
          s.data.started = true;
          return;
        }
        if (s.data.input) {
          s.data.input.write(chunk);
          return;
        }
        if (s.data.started) return;
        s.data.buf += Buffer.from(chunk).toString();
        const nl = s.data.buf.indexOf("\n");
        if (nl < 0) return;
        s.data.started = true;
        let req: AttachRequest;
        try {
          req = JSON.parse(s.data.buf.slice(0, nl));
        } catch {
          s.end(`${JSON.stringify({ ok: false, error: messages.attachBadRequest() })}\n`);
          return;
        }
        const rest = s.data.buf.slice(nl + 1);
        session(s, req, rest);
      },
      drain(s) {
        s.data?.drain?.();
      },
      close(s) {
        if (s.data?.input && getpid() !== owner) revert(0); // the client left: the copy ends
      },
      error() {},
    },
  });
  server.unref();
  chmodSync(path, 0o600);
  process.on("exit", () => {
    if (getpid() === owner) {
      try {
        unlinkSync(path);
      } catch {}
    }
  });
  listening = path;
  return path;
}

// Starts the session a client asked for in a detached snapshot that takes the connection over;
// the live process lets go of it (without shutting it down) and goes on.
function session(s: Bun.Socket<Conn>, req: AttachRequest, rest: string): void {
  const fd = (s as unknown as { fd: number }).fd;
  let f;
  const t0 = performance.now();
  try {
    f = forkSnapshot({ detached: true, label: req.mode === "eval" ? "attach --eval" : "attach" }, { handOver: [fd] });
    if (f.role === "parent") forkTimes.push(performance.now() - t0);
  } catch (e) {
    s.end(`${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`);
    return;
  }
  if (f.role === "parent") {
    // The descriptor holds a dead socket now (the hand-over), so closing it cannot touch the copy's connection.
    s.terminate();
    return;
  }
  if (req.mode === "eval") void evalSession(s, req.expr);
  else replSession(s, req, rest);
}

// Evaluates `expr` with the exposed values and the app's globals in scope (await allowed).
async function evaluate(expr: string): Promise<unknown> {
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (...v: unknown[]) => Promise<unknown>;
  const names = Object.keys(exposed);
  let fn;
  try {
    fn = new AsyncFunction(...names, `return (${expr}\n);`);
  } catch {
    fn = new AsyncFunction(...names, expr);
  }
  return fn(...names.map((n) => exposed[n]));
}

// In the copy: evaluate, answer one JSON line, end.
async function evalSession(s: Bun.Socket<Conn>, expr: string): Promise<void> {
  let answer: string;
  try {
    answer = JSON.stringify({ ok: true, value: Bun.inspect(await evaluate(expr), { colors: false }) });
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
function replSession(s: Bun.Socket<Conn>, req: Extract<AttachRequest, { mode: "repl" }>, rest: string): void {
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
