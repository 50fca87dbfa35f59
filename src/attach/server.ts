// Attachable processes: `import "bun-snapshot/attach"` makes this process listen on a Unix
// socket, in a directory only its user can enter, named by pid. A connection from the same user
// gets a detached snapshot of the process (the live one goes on serving; it pauses only for the
// fork) whose child runs a REPL, or evaluates code, over the connection (session.ts). The copy
// ends when the client goes, however busy it is (a thread of its own watches the connection).
// Anyone else is refused (SO_PEERCRED) and the refusal logged. What a client can make the live
// process hold is bounded (LIMITS): the request line, the time to send it, the connections
// waiting and the copies alive.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { revert } from "../api/snapshot.ts";
import { messages, SnapshotError } from "../errors.ts";
import { ZIG_LINE } from "../bun-internals/release.ts";
import { forkSnapshot } from "../fork/fork.ts";
import { prepareHangupWatch, watchHangup } from "../sys/hangup.ts";
import { getpid, getuid } from "../sys/process.ts";
import { peerCredentials } from "../sys/socket.ts";
import { removeSocketOnExit } from "./cleanup.ts";
import { LIMITS, socketDir, socketPath, type AttachRequest } from "./paths.ts";
import { evalSession, replSession, type Conn } from "./session.ts";

export { attachPrompt, expose } from "./session.ts";

// Creates the socket directory (0700), or checks that an existing one is a real directory of
// this user that nobody else can enter.
function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== getuid() || (st.mode & 0o777) !== 0o700)
    throw new SnapshotError("EACCES", messages.attachDirUnsafe(dir, st.uid, st.mode & 0o777));
}

let listening: string | undefined;
const forkTimes: number[] = [];
let waiting = 0; // connections open in the live process, not yet sessions
let sessions = 0; // copies alive

/** How long each attach held the live process in the fork (ms), for the bench. */
export function attachForkTimes(): readonly number[] {
  return forkTimes;
}

const fdOf = (s: Bun.Socket<Conn>) => (s as unknown as { fd: number }).fd;

// Answers a refusal and ends the connection; what the client sends from now on is dropped.
function refuse(s: Bun.Socket<Conn>, error: string): void {
  clearTimeout(s.data.timer);
  s.data.started = true;
  s.data.chunks = [];
  s.write(`${JSON.stringify({ ok: false, error })}\n`);
  s.end();
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
        s.data = { chunks: [], size: 0, started: false, dropped: 0 };
        if (getpid() !== owner) return;
        waiting++;
        const peer = peerCredentials(fdOf(s));
        if (peer.uid !== getuid()) {
          // Refused once it has spoken, so that it reads the answer: closed at once, its client
          // sometimes saw only ECONNRESET (in one full-suite run).
          console.error(messages.attachRefusedLog(peer.uid, peer.pid, getuid()));
          s.data.refusedUid = peer.uid;
        }
        if (waiting > LIMITS.maxConnections) return refuse(s, messages.attachTooManyConnections(LIMITS.maxConnections));
        s.data.timer = setTimeout(() => !s.data.started && refuse(s, messages.attachFirstLineLate(LIMITS.firstLineMs)), LIMITS.firstLineMs);
        s.data.timer.unref();
      },
      data(s, chunk) {
        if (s.data.input) return void s.data.input.write(chunk);
        if (s.data.refusedUid !== undefined && !s.data.started) return refuse(s, messages.attachRefused(s.data.refusedUid));
        if (s.data.started) {
          // A refused client that goes on sending: cut it off rather than read it all.
          s.data.dropped += chunk.length;
          if (s.data.dropped > LIMITS.maxLine) s.terminate();
          return;
        }
        const nl = chunk.indexOf(10);
        const upTo = nl < 0 ? chunk.length : nl;
        if (s.data.size + upTo > LIMITS.maxLine) return refuse(s, messages.attachLineTooLong(LIMITS.maxLine));
        s.data.chunks.push(Buffer.from(chunk));
        s.data.size += chunk.length;
        if (nl < 0) return;
        const all = Buffer.concat(s.data.chunks);
        const at = all.length - chunk.length + nl;
        s.data.started = true;
        s.data.chunks = [];
        clearTimeout(s.data.timer);
        let req: AttachRequest;
        try {
          req = JSON.parse(all.subarray(0, at).toString());
        } catch {
          return refuse(s, messages.attachBadRequest());
        }
        if (sessions >= LIMITS.maxSessions) return refuse(s, messages.attachTooManySessions(LIMITS.maxSessions));
        session(s, req, all.subarray(at + 1).toString());
      },
      drain(s) {
        s.data?.drain?.();
      },
      close(s) {
        if (getpid() === owner) {
          waiting--;
          clearTimeout(s.data?.timer);
        } else if (s.data?.input) revert(0); // in a copy: the client left its session
      },
      error() {},
    },
  });
  server.unref();
  chmodSync(path, 0o600);
  removeSocketOnExit(path, owner);
  listening = path;
  return path;
}

// Starts the session a client asked for in a detached snapshot that takes the connection over;
// the live process lets go of it (without shutting it down) and goes on.
function session(s: Bun.Socket<Conn>, req: AttachRequest, rest: string): void {
  const fd = fdOf(s);
  let f;
  const t0 = performance.now();
  try {
    prepareHangupWatch(); // compiled here once, so that the copy only starts it
    f = forkSnapshot({ detached: true, label: req.mode === "eval" ? "attach --eval" : "attach" }, { handOver: [fd] });
  } catch (e) {
    return refuse(s, e instanceof Error ? e.message : String(e));
  }
  if (f.role === "parent") {
    forkTimes.push(performance.now() - t0);
    sessions++;
    if ("exited" in f) void f.exited.finally(() => sessions--);
    else sessions--;
    // The descriptor holds a dead socket now (the hand-over), so closing it cannot touch the copy's connection.
    s.terminate();
    return;
  }
  watchHangup(fd);
  if (req.mode === "eval") void evalSession(s, req.expr);
  else replSession(s, req, rest);
}
