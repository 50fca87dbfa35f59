// Terminated Workers whose thread Bun has not joined yet. Bun joins a terminated Worker's thread
// later, from the event loop; a child forked before that join inherits it, and glibc hands the
// dead thread's descriptor to the child's next new thread, so the child's join then aborts
// ("failed to join thread: Invalid argument") or waits forever. Measured on Bun 1.4.5:
// `worker.terminate()` then a snapshot whose child reads a file through the work pool aborted
// in 2 runs of 6. A snapshot cannot run the event loop to let the join happen, so it refuses
// until the Worker's "close" event (which comes with the join) has fired.
//
// A termination that the event loop has not finished within a second of its own turns (a
// Worker terminated in a snapshot child may never send "close") is taken as one that never
// will: nothing is left to join, and snapshots are allowed again.
//
// Relies on Worker.prototype.terminate being the one terminate() calls go through; the record
// starts when tracking is installed: when the package's API is loaded, and at start by the
// bun-snapshot/safe and /attach preloads. A Worker that ends by itself (its script calls
// process.exit) is not recorded.

const STUCK_MS = 1000;

type Tracked = { terminate(): void; threadId?: number; addEventListener(type: "close", fn: () => void): void };

const KEY = Symbol.for("bun-snapshot.workers.v1");
type Registry = { terminating: Set<Tracked> };

function registry(): Registry | undefined {
  return (globalThis as { [KEY]?: Registry })[KEY];
}

/** Starts recording terminated Workers until their "close" (once per process; idempotent). */
export function trackWorkers(): void {
  const g = globalThis as { [KEY]?: Registry; Worker?: Function & { prototype: Tracked } };
  if (g[KEY] || typeof g.Worker !== "function") return;
  const r: Registry = { terminating: new Set() };
  g[KEY] = r;
  const proto = g.Worker.prototype;
  const terminate = proto.terminate;
  proto.terminate = function (this: Tracked) {
    if (!r.terminating.has(this)) {
      r.terminating.add(this);
      this.addEventListener("close", () => r.terminating.delete(this));
      // A termination the event loop has not finished within STUCK_MS of its own turns never
      // finishes (seen in snapshot children: "close" never comes); there is no join to wait for.
      const stuck = setTimeout(() => r.terminating.delete(this), STUCK_MS);
      (stuck as { unref?: () => void }).unref?.();
    }
    return terminate.call(this);
  };
}

/** A terminated Worker whose thread has not been joined yet, described; or undefined. */
export function unjoinedWorker(): string | undefined {
  const pending = registry()?.terminating;
  if (!pending || pending.size === 0) return undefined;
  const ids = [...pending].map((w) => w.threadId).filter((id): id is number => typeof id === "number" && id >= 0);
  return `${pending.size === 1 ? "a Worker" : `${pending.size} Workers`}${ids.length ? ` (threadId ${ids.join(", ")})` : ""}`;
}
