// Makes every mapping of this process forkable: Bun's WebKit reserves memory (the JIT region
// first) with MADV_DONTFORK, and a child without it crashes on its first instruction.
import { readFileSync } from "node:fs";
import { madvise, MADV_DOFORK } from "./libc.ts";

// Kernel-provided mappings that are never copied on fork or refuse the advice.
const SPECIAL = /\[(vvar|vvar_vclock|vdso|vsyscall)\]/;

/**
 * Clears MADV_DONTFORK on every mapping (a cheap read of /proc/self/maps rather than
 * /proc/self/smaps, which costs tens of ms on a large heap); for a range that already forks the
 * kernel only looks at its flags. Every range, every time, rather than the new ones: a range
 * released and reserved again at the same addresses would look unchanged in /proc/self/maps.
 * Returns how many ranges were advised.
 */
export function makeForkable(): number {
  const maps = readFileSync("/proc/self/maps", "latin1");
  let count = 0;
  let start = 0;
  while (start < maps.length) {
    let end = maps.indexOf("\n", start);
    if (end === -1) end = maps.length;
    const dash = maps.indexOf("-", start);
    const space = maps.indexOf(" ", dash);
    if (dash > start && space > dash && !SPECIAL.test(maps.slice(start, end))) {
      const lo = parseInt(maps.slice(start, dash), 16);
      const hi = parseInt(maps.slice(dash + 1, space), 16);
      madvise(lo, hi - lo, MADV_DOFORK);
      count++;
    }
    start = end + 1;
  }
  return count;
}

/**
 * The mappings still marked MADV_DONTFORK (`dc` in /proc/self/smaps VmFlags), as "start-end"
 * ranges. Slow on a large heap: for tests and `doctor`, never on the fork path.
 */
export function dontforkRegions(): string[] {
  const out: string[] = [];
  let range = "";
  for (const line of readFileSync("/proc/self/smaps", "latin1").split("\n")) {
    const m = /^([0-9a-f]+-[0-9a-f]+) /.exec(line);
    if (m) range = m[1]!;
    else if (line.startsWith("VmFlags:") && / dc\b/.test(line)) out.push(range);
  }
  return out;
}
