// How a child talks to its parent: records appended to a memfd the parent created before the
// fork and reads after the reap. A file, not a pipe: a value of any size never blocks the
// writer, so the child cannot deadlock against a parent that is waiting for it to end.
// A record is a kind byte, a 64-bit little-endian length and the payload. The parent maps the
// memfd rather than reading it, so a large value exists once in the parent: in the mapping
// until it is decoded, then only as the decoded value (takeValue unmaps).
import { messages } from "../errors.ts";
import { close, fileSize, memfd, writeAll } from "../sys/fd.ts";
import { mapFile } from "../sys/mem.ts";
import { state } from "./lineage.ts";

const enum Kind {
  Commit = 67, // "C"
  RevertTo = 82, // "R"
  Value = 86, // "V"
  Error = 69, // "E"
}

/** The size of a record's header: the kind, then the payload's length in 64 bits. */
export const HEADER = 9;

/** What a child said before it ended. */
export interface Message {
  /** The child called commit() (and no revertTo after it). */
  commit: boolean;
  /** The child asked for every snapshot deeper than this depth to end. */
  revertTo?: number;
  /** A trial's value, serialized by structured clone: a view of the mapped channel (takeValue frees it). */
  value?: Uint8Array;
  /** A trial's error (name, message, stack), as JSON. */
  error?: { name: string; message: string; stack?: string };
}

// The unmapping of each message that holds a value; a message dropped without takeValue is
// unmapped when collected.
const mappings = new WeakMap<Message, () => void>();
const unmapLater = new FinalizationRegistry<() => void>((unmap) => unmap());

/** Opens the channel for the next child; the parent keeps this fd, the child writes to it. */
export function openChannel(): number {
  return memfd("bun-snapshot");
}

/** A record's header: `kind`, then `length` as a 64-bit little-endian number. */
export function header(kind: number, length: number): Uint8Array {
  const head = new Uint8Array(HEADER);
  head[0] = kind;
  new DataView(head.buffer).setBigUint64(1, BigInt(length), true);
  return head;
}

// `dry`: a rehearsal in a parent about to fork (see trial.ts): writes nothing.
const NOTHING = new Uint8Array(0);

function send(fd: number, kind: Kind, payload: Uint8Array = new Uint8Array(0), dry = false): void {
  const h = header(kind, payload.length);
  writeAll(fd, dry ? NOTHING : h); // a rehearsal writes nothing, but compiles writeAll
  if (dry) return;
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

/** Sends a trial's serialized value, or, when it is over this trial's maxBytes, an error saying so (`dry`: a rehearsal, sends nothing). */
export function sendValue(fd: number, bytes: Uint8Array, dry = false): void {
  const max = state().maxBytes;
  if (bytes.length > max && !dry) sendError(fd, { name: "SnapshotError", message: messages.trialTooLarge(bytes.length, max) });
  else send(fd, Kind.Value, bytes, dry);
}

/** Sends a trial's error. */
export function sendError(fd: number, error: { name: string; message: string; stack?: string }): void {
  send(fd, Kind.Error, new TextEncoder().encode(JSON.stringify(error)));
}

/** Reads everything the child sent and closes the channel. The last commit/revertTo wins. */
export function receive(fd: number): Message {
  const size = fileSize(fd);
  const msg: Message = { commit: false };
  if (size === 0) {
    close(fd);
    return msg;
  }
  const map = mapFile(fd, size);
  close(fd);
  const data = map.bytes;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  while (off + HEADER <= data.length) {
    const kind = data[off]!;
    const len = Number(view.getBigUint64(off + 1, true));
    if (len > data.length - off - HEADER) break; // cut short by a crash mid-write
    const payload = data.subarray(off + HEADER, off + HEADER + len);
    off += HEADER + len;
    if (kind === Kind.Commit) {
      msg.commit = true;
      delete msg.revertTo;
    } else if (kind === Kind.RevertTo) {
      msg.revertTo = Number(new TextDecoder().decode(payload));
      msg.commit = false;
    } else if (kind === Kind.Value) msg.value = payload;
    else if (kind === Kind.Error) msg.error = JSON.parse(new TextDecoder().decode(payload));
  }
  if (!msg.value) map.unmap();
  else {
    mappings.set(msg, map.unmap);
    unmapLater.register(msg, map.unmap, msg);
  }
  return msg;
}

/** Decodes the message's value with `decode` (which must copy what it keeps), then unmaps it. */
export function takeValue(msg: Message, decode: (bytes: Uint8Array) => unknown): unknown {
  try {
    return decode(msg.value!);
  } finally {
    const unmap = mappings.get(msg);
    unmapLater.unregister(msg);
    delete msg.value;
    unmap?.();
  }
}
