// Where attach sockets live, and what a client asks for: shared by the server and the client.
import { isAbsolute, join } from "node:path";
import { messages, SnapshotError } from "../errors.ts";
import { getuid } from "../sys/process.ts";

/** The directory of the attach sockets of user `uid` (BUN_SNAPSHOT_DIR, an absolute path, overrides it). */
export function socketDir(uid: number = getuid()): string {
  const dir = process.env["BUN_SNAPSHOT_DIR"];
  if (dir === undefined) return `/tmp/bun-snapshot-${uid}`;
  if (!isAbsolute(dir)) throw new SnapshotError("EINVAL", messages.attachDirRelative(dir));
  return dir;
}

/** The attach socket of process `pid`, which runs as `uid`. */
export function socketPath(pid: number, uid: number = getuid()): string {
  return join(socketDir(uid), `${pid}.sock`);
}

/** What a client asks for, as the first line it sends (JSON). */
export type AttachRequest = { mode: "eval"; expr: string } | { mode: "repl"; terminal: boolean; columns?: number; colors?: boolean };

/** The limits of what one client can make the live process hold. */
export const LIMITS = {
  /** The longest first line (the request), in bytes. */
  maxLine: 64 * 1024,
  /** How long a new connection has to send its first line. */
  firstLineMs: 5_000,
  /** Connections open at once that have not become sessions yet. */
  maxConnections: 16,
  /** Attach copies alive at once. */
  maxSessions: 4,
} as const;
