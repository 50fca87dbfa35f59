// The JavaScriptCore switches that make a Bun process snapshot-safe: data only, so that the
// code that applies them, the messages that name them and the help text agree.

/** Required: the collector and JIT threads off (API.md: a process started with them is always safe). */
export const SAFE_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_useConcurrentJIT: "0",
  BUN_JSC_useConcurrentGC: "0",
  BUN_JSC_numberOfGCMarkers: "1",
};

/**
 * Added where this Bun knows them (an unknown BUN_JSC_ variable stops Bun at start, so each is
 * probed first): without JSC's block warm-up thread (JSCWarmUp, Bun 1.4), no helper thread is
 * left that a fork could catch holding a heap lock.
 */
export const OPTIONAL_ENV: Readonly<Record<string, string>> = { BUN_JSC_useWarmUpMarkedBlocks: "0" };

/** "K=V K=V ..." of a set of switches. */
export function envWords(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}
