// process.stdout and process.stderr as Bun implements them: writes to a pipe that is full are
// kept in a native FileSink and written later by the event loop, which a fork would duplicate
// (the child writes its copy) or lose. Bun offers no way to write that buffer out synchronously
// (its flush() only starts a write the event loop finishes), so the package keeps it empty:
// once installed, a write to a pipe or file goes straight to the descriptor, waiting for a slow
// reader as Node's pipe writes on Linux do. Only a reader that takes nothing for WAIT_MS makes
// a write fall back to Bun's buffer, and a snapshot is then refused (EBUSY) until it drains.
//
// Relies on the `kWriteStreamFastPath` symbol of the stream holding a FileSink with flush().
import { writeWithin } from "../sys/fd.ts";

type Sink = { flush(): number | Promise<unknown> };
type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

// BUN_SNAPSHOT_STDIO_WAIT_MS: how long a write waits for a reader that takes nothing (tests shorten it).
const WAIT_MS = Number(process.env["BUN_SNAPSHOT_STDIO_WAIT_MS"]) || 10_000;
const KEY = Symbol.for("bun-snapshot.stdio.v1");
const STREAMS = [["process.stdout", 1], ["process.stderr", 2]] as const;

// The FileSink behind a Bun stdio stream, if it has one (pipes and files; TTYs write directly);
// found once per stream (a snapshot child, which ends through flushStdio(), then finds it cached).
const sinks = new WeakMap<object, Sink>();
function sinkOf(stream: NodeJS.WriteStream): Sink | undefined {
  const known = sinks.get(stream);
  if (known) return known;
  const found = findSink(stream);
  if (found) sinks.set(stream, found);
  return found;
}
function findSink(stream: NodeJS.WriteStream): Sink | undefined {
  const key = Object.getOwnPropertySymbols(stream).find((s) => s.description === "kWriteStreamFastPath");
  const sink = key && (stream as unknown as Record<symbol, unknown>)[key];
  return sink && typeof sink === "object" && typeof (sink as Sink).flush === "function" ? (sink as Sink) : undefined;
}

const streamOf = (name: string) => (name === "process.stdout" ? process.stdout : process.stderr);
// Bytes each stream handed to Bun's buffer after its reader took nothing for WAIT_MS.
const handedOver = new Map<string, number>();
// The streams whose writes all go straight to their descriptor so far: their buffer is empty
// (flushStdio() need not call into Bun for them).
const through = new Set<string>();

/** Makes writes to stdout and stderr go straight to their descriptors (once per process). */
export function writeStdioThrough(): void {
  for (const [name, fd] of STREAMS) {
    const stream = streamOf(name) as unknown as { [KEY]?: true; write: Write };
    if (stream[KEY]) continue;
    const sink = sinkOf(streamOf(name));
    if (!sink) continue;
    stream[KEY] = true;
    if (typeof sink.flush() === "number") through.add(name);
    const original: Write = stream.write.bind(stream);
    const toBun: Write = (chunk, encoding, cb) => {
      through.delete(name);
      return original(chunk, encoding, cb);
    };
    stream.write = function (chunk: unknown, encoding?: unknown, cb?: unknown) {
      if (typeof encoding === "function") [cb, encoding] = [encoding, undefined];
      // Something is held already: behind it, in order.
      if (typeof sink.flush() !== "number" || (typeof chunk !== "string" && !ArrayBuffer.isView(chunk))) return toBun(chunk, encoding, cb);
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, (encoding as BufferEncoding | undefined) ?? "utf8") : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const written = writeWithin(fd, bytes, WAIT_MS);
      if (written < bytes.length) {
        handedOver.set(name, (handedOver.get(name) ?? 0) + bytes.length - written);
        return toBun(Buffer.from(bytes.subarray(written)), undefined, cb);
      }
      if (typeof cb === "function") process.nextTick(cb as () => void);
      return true;
    };
  }
}

/** The first stdio stream still holding output its reader has not taken, and how much we know of; or null. */
export function pendingStdio(): { stream: string; bytes?: number } | null {
  for (const [name] of STREAMS) {
    const sink = sinkOf(streamOf(name));
    if (sink && typeof sink.flush() !== "number") return { stream: name, ...(handedOver.has(name) ? { bytes: handedOver.get(name)! } : {}) };
    handedOver.delete(name);
  }
  return null;
}

/**
 * Writes what stdout and stderr hold now, as far as the descriptors take it without waiting
 * (`dry`: a rehearsal in a parent about to fork, flushes nothing).
 */
export function flushStdio(dry = false): void {
  for (let i = 0; i < STREAMS.length; i++) {
    const name = STREAMS[i]![0];
    if (through.has(name) || dry) continue;
    try {
      sinkOf(streamOf(name))?.flush();
    } catch {}
  }
}
