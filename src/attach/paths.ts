// Where attach sockets live, and what a client asks for: shared by the server and the client.
import { join } from "node:path";
import { getuid } from "../sys/process.ts";

/** The directory of the attach sockets of user `uid` (BUN_SNAPSHOT_DIR overrides it). */
export function socketDir(uid: number = getuid()): string {
  return process.env.BUN_SNAPSHOT_DIR ?? `/tmp/bun-snapshot-${uid}`;
}

/** The attach socket of process `pid`, which runs as `uid`. */
export function socketPath(pid: number, uid: number = getuid()): string {
  return join(socketDir(uid), `${pid}.sock`);
}

/** What a client asks for, as the first line it sends (JSON). */
export type AttachRequest = { mode: "eval"; expr: string } | { mode: "repl"; terminal: boolean; columns?: number };
