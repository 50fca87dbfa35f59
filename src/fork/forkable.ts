// Makes every mapping of this process forkable: Bun's WebKit reserves memory (the JIT region
// first) with MADV_DONTFORK, and a child without it crashes on its first instruction.
import { eachOrdinaryRange, mapsText } from "../proc/maps.ts";
import { madvise, MADV_DOFORK } from "../sys/mem.ts";

/**
 * Clears MADV_DONTFORK on every mapping (a cheap read of /proc/self/maps rather than
 * /proc/self/smaps, which costs tens of ms on a large heap); for a range that already forks the
 * kernel only looks at its flags. Every range, every time, rather than the new ones: a range
 * released and reserved again at the same addresses would look unchanged in /proc/self/maps.
 * Returns how many ranges were advised.
 */
export function makeForkable(): number {
  return eachOrdinaryRange(mapsText(), (lo, hi) => madvise(lo, hi - lo, MADV_DOFORK));
}
