// node:fs write streams inherited by a snapshot child: the data the parent had queued (written
// with write() but not yet handed to the descriptor, or handed to a write still in flight) is
// the parent's. The child's copy of the queue would write it a second time (measured on Bun
// 1.4.5: `createWriteStream(p, { flags: "a" })`, two writes, a snapshot: the file held both lines
// twice). So every chunk is stamped with the process that wrote it, and a stream's _write and
// _writev complete the chunks of another process without writing them: in the child, only what
// the child itself wrote reaches the file; in the parent, everything it wrote, once.
//
// Relies on Bun's node:fs WriteStream: write() of the stream's class queues chunks in order and
// hands them, in that order, to _write (one) or _writev (several) of WriteStream.prototype. A
// write still in flight on the parent's work pool at the fork never completes in the child.

type Cb = (e?: Error | null) => void;
type Proto = {
  write(this: object, ...args: unknown[]): boolean;
  _write(this: object, chunk: unknown, encoding: unknown, cb: Cb): void;
  _writev?(this: object, chunks: { chunk: unknown; encoding: unknown }[], cb: Cb): void;
};

const KEY = Symbol.for("bun-snapshot.write-streams.v1");
// Per stream: the pid that wrote each chunk still queued, in order.
const owners = new WeakMap<object, number[]>();

/** Stamps chunks written to node:fs write streams with their writer's pid (once per process). */
export function stampWriteStreams(): void {
  const fs = require("node:fs") as { WriteStream: { prototype: Proto & { [KEY]?: true } } };
  const proto = fs.WriteStream.prototype;
  if (proto[KEY] || typeof proto._write !== "function") return;
  Object.defineProperty(proto, KEY, { value: true });
  const { write, _write, _writev } = proto;
  const queue = (s: object) => {
    let q = owners.get(s);
    if (!q) owners.set(s, (q = []));
    return q;
  };
  proto.write = function (...args) {
    queue(this).push(process.pid);
    return write.apply(this, args);
  };
  proto._write = function (chunk, encoding, cb) {
    // A chunk nobody stamped (written before this was installed) counts as this process's.
    const owner = queue(this).shift() ?? process.pid;
    if (owner !== process.pid) return cb();
    return _write.call(this, chunk, encoding, cb);
  };
  if (typeof _writev === "function") {
    proto._writev = function (chunks, cb) {
      const q = queue(this);
      const mine = chunks.filter(() => (q.shift() ?? process.pid) === process.pid);
      if (mine.length === 0) return cb();
      return mine.length === 1 ? _write.call(this, mine[0]!.chunk, mine[0]!.encoding, cb) : _writev.call(this, mine, cb);
    };
  }
}
