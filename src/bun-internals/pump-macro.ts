// The macro behind pump.ts: hands Bun's transpiler the promise the trial child waits for.
// Bun waits for a macro's promise by running the event loop until it settles.

/** The promise pump.ts left under its key. */
export function pump(): unknown {
  return (globalThis as Record<symbol, unknown>)[Symbol.for("bun-snapshot.pump")];
}
