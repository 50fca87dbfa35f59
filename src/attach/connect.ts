// The client side of attach: finds the socket of a process and checks, before a byte goes out,
// that it is that process's: the directory and the socket belong to the process's user and
// nobody else may write in the directory, the socket is no symbolic link, and the process at the
// other end (SO_PEERCRED) is the target. Stale sockets of dead processes it meets are removed.
import { lstatSync, unlinkSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { messages, SnapshotError } from "../errors.ts";
import { processInfo } from "../proc/process.ts";
import { getuid } from "../sys/process.ts";
import { peerCredentials } from "../sys/socket.ts";
import { socketDir, socketPath } from "./paths.ts";

/** A process to attach to, and its checked socket. */
export interface Target {
  pid: number;
  uid: number;
  ppid: number;
  path: string;
}

// What a file is, in words, for a refusal.
function kind(st: Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFile()) return "a regular file";
  if (st.isSocket()) return "a socket";
  return "a special file";
}

// lstat, undefined for a path that does not exist; EACCES becomes the attach refusal.
function look(path: string, pid: number, uid: number): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "EACCES" || code === "EPERM") throw new SnapshotError("EACCES", messages.attachDenied(pid, uid), { cause: e });
    throw e;
  }
}

/**
 * Removes `path` when it is a socket of this user in a directory of this user that nobody else
 * may write in (a socket left by a process that is gone). Returns whether it did.
 */
export function removeStaleSocket(path: string): boolean {
  try {
    const d = lstatSync(dirname(path));
    const s = lstatSync(path);
    if (!d.isDirectory() || d.uid !== getuid() || d.mode & 0o022 || !s.isSocket() || s.uid !== getuid()) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Finds and checks the socket of process `pid`; throws a SnapshotError saying what it found. */
export function locate(pid: number): Target {
  if (!Number.isInteger(pid) || pid <= 0) throw new SnapshotError("EINVAL", messages.attachUsage());
  const info = processInfo(pid);
  if (!info) {
    const mine = socketPath(pid);
    throw new SnapshotError("ESRCH", removeStaleSocket(mine) ? messages.attachNoProcessStale(pid, mine) : messages.attachNoProcess(String(pid)));
  }
  const { uid } = info;
  const dir = socketDir(uid);
  const path = socketPath(pid, uid);
  const d = look(dir, pid, uid);
  if (!d) throw new SnapshotError("ENOENT", messages.attachNotAttachable(pid, path));
  if (!d.isDirectory()) throw new SnapshotError("EACCES", messages.attachDirNotDir(dir, kind(d)));
  if (d.uid !== uid) throw new SnapshotError("EACCES", messages.attachDirNotTheirs(dir, d.uid, pid, uid));
  if (d.mode & 0o022) throw new SnapshotError("EACCES", messages.attachDirOpen(dir, d.mode & 0o7777));
  const s = look(path, pid, uid);
  if (!s) throw new SnapshotError(uid !== getuid() && getuid() !== 0 ? "EACCES" : "ENOENT", uid !== getuid() && getuid() !== 0 ? messages.attachDenied(pid, uid) : messages.attachNotAttachable(pid, path));
  if (!s.isSocket()) throw new SnapshotError("EACCES", messages.attachSocketOdd(path, kind(s)));
  if (s.uid !== uid) throw new SnapshotError("EACCES", messages.attachSocketNotTheirs(path, s.uid, pid, uid));
  return { pid, uid, ppid: info.ppid, path };
}

/** A checked connection to an attachable process. */
export interface Connection {
  write(data: string | Uint8Array): void;
  /** Ends our side (the process sees the end of its input). */
  end(): void;
  /** Closes the connection now; the copy serving it ends. */
  close(): void;
  /** Resolves once the connection has closed, from either side. */
  closed: Promise<void>;
}

/**
 * Connects to a located target and checks who listens (SO_PEERCRED) before anything is sent.
 * `onData` receives what the process sends. Throws a SnapshotError (nothing was sent).
 */
export async function connectTo(t: Target, onData: (d: Buffer) => void): Promise<Connection> {
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  // What arrives before the peer is checked waits here; what we send waits for the socket.
  let verified = false;
  const early: Buffer[] = [];
  let unsent = Buffer.alloc(0);
  let ending = false;
  let s: Awaited<ReturnType<typeof Bun.connect>>;
  const flush = () => {
    if (unsent.length > 0) {
      const n = s.write(unsent);
      unsent = n > 0 ? unsent.subarray(n) : unsent;
    }
    if (unsent.length === 0 && ending) s.end();
  };
  try {
    s = await Bun.connect({
      unix: t.path,
      socket: {
        data: (_s, d) => void (verified ? onData(Buffer.from(d)) : early.push(Buffer.from(d))),
        drain: () => flush(),
        close: () => done(),
        error: () => done(),
      },
    });
  } catch (e) {
    const code = String((e as { code?: string }).code ?? e);
    if (code === "ECONNREFUSED" && removeStaleSocket(t.path)) throw new SnapshotError("ECONNREFUSED", messages.attachStale(t.pid, t.path), { cause: e });
    // Gone since locate() saw it (a stale one removed meanwhile): as if it had never been there.
    if (code === "ENOENT") throw new SnapshotError("ENOENT", messages.attachNotAttachable(t.pid, t.path), { cause: e });
    if (code === "EACCES" || code === "EPERM") throw new SnapshotError("EACCES", messages.attachDenied(t.pid, t.uid), { cause: e });
    throw new SnapshotError("ECONNREFUSED", messages.attachCannotConnect(t.path, code), { cause: e });
  }
  let peer;
  try {
    peer = peerCredentials((s as unknown as { fd: number }).fd);
  } catch (e) {
    s.terminate();
    throw e;
  }
  if (peer.uid !== t.uid || (peer.pid !== t.pid && peer.pid !== t.ppid)) {
    s.terminate();
    throw new SnapshotError("EACCES", messages.attachPeerMismatch(t.path, peer.pid, peer.uid, t.pid, t.uid));
  }
  verified = true;
  for (const d of early.splice(0)) onData(d);
  return {
    write(d) {
      unsent = Buffer.concat([unsent, Buffer.from(d)]);
      flush();
    },
    end() {
      ending = true;
      flush();
    },
    close: () => s.terminate(),
    closed,
  };
}
