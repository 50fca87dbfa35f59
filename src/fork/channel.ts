// How a child talks to its parent: records appended to a memfd the parent created before the
// fork and reads after the reap. A file, not a pipe: a value of any size never blocks the
// writer, so the child cannot deadlock against a parent that is waiting for it to end.
import { close, memfd, readWhole, writeAll } from "../sys/fd.ts";

const enum Kind {
  Commit = 67, // "C"
  RevertTo = 82, // "R"
  Value = 86, // "V"
  Error = 69, // "E"
}

/** What a child said before it ended. */
export interface Message {
  /** The child called commit() (and no revertTo after it). */
  commit: boolean;
  /** The child asked for every snapshot deeper than this depth to end. */
  revertTo?: number;
  /** A trial's value, serialized by structured clone. */
  value?: Uint8Array;
  /** A trial's error (name, message, stack), as JSON. */
  error?: { name: string; message: string; stack?: string };
}

/** Opens the channel for the next child; the parent keeps this fd, the child writes to it. */
export function openChannel(): number {
  return memfd("bun-snapshot");
}

function send(fd: number, kind: Kind, payload: Uint8Array = new Uint8Array(0)): void {
  const head = new Uint8Array(5);
  head[0] = kind;
  new DataView(head.buffer).setUint32(1, payload.length, true);
  writeAll(fd, head);
  writeAll(fd, payload);
}

/** Tells the parent that this line is kept. */
export function sendCommit(fd: number): void {
  send(fd, Kind.Commit);
}

/** Tells the parent to unwind up to `depth`. */
export function sendRevertTo(fd: number, depth: number): void {
  send(fd, Kind.RevertTo, new TextEncoder().encode(String(depth)));
}

/** Sends a trial's serialized value. */
export function sendValue(fd: number, bytes: Uint8Array): void {
  send(fd, Kind.Value, bytes);
}

/** Sends a trial's error. */
export function sendError(fd: number, error: { name: string; message: string; stack?: string }): void {
  send(fd, Kind.Error, new TextEncoder().encode(JSON.stringify(error)));
}

/** Reads everything the child sent and closes the channel. The last commit/revertTo wins. */
export function receive(fd: number): Message {
  const data = readWhole(fd);
  close(fd);
  const msg: Message = { commit: false };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off + 5 <= data.length) {
    const kind = data[off]!;
    const len = view.getUint32(off + 1, true);
    const payload = data.subarray(off + 5, off + 5 + len);
    off += 5 + len;
    if (payload.length < len) break; // cut short by a crash mid-write
    if (kind === Kind.Commit) {
      msg.commit = true;
      delete msg.revertTo;
    } else if (kind === Kind.RevertTo) {
      msg.revertTo = Number(new TextDecoder().decode(payload));
      msg.commit = false;
    } else if (kind === Kind.Value) msg.value = payload;
    else if (kind === Kind.Error) msg.error = JSON.parse(new TextDecoder().decode(payload));
  }
  return msg;
}
