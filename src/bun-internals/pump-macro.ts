// The macro behind pump.ts: runs the trial's start inside Bun's macro call and hands the
// transpiler the promise to wait for; Bun waits for it by running the event loop.

/** Calls what pump.ts left under its key, and gives its promise. */
export function pump(): unknown {
  return ((globalThis as Record<symbol, unknown>)[Symbol.for("bun-snapshot.pump")] as () => unknown)();
}
