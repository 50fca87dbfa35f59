// Makes every mapping of this process forkable: Bun's WebKit reserves memory (the JIT region
// first) with MADV_DONTFORK, and a child without it crashes on its first instruction.
import { readFileSync } from "node:fs";
import { madvise, MADV_DOFORK } from "./libc.ts";

// Ranges already advised. A VMA keeps the flag, so only new ranges need a call; when the kernel
// merges or splits VMAs the new ranges are advised once more, which is harmless.
const advised = new Set<string>();

// Kernel-provided mappings that are never copied on fork or refuse the advice.
const SPECIAL = /\[(vvar|vvar_vclock|vdso|vsyscall)\]/;

/**
 * Clears MADV_DONTFORK on every mapping not advised before (a cheap read of /proc/self/maps
 * rather than /proc/self/smaps, which costs tens of ms on a large heap). Returns how many
 * ranges were advised this time.
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
    const key = maps.slice(start, space);
    if (dash > start && space > dash && !advised.has(key)) {
      const line = maps.slice(start, end);
      if (!SPECIAL.test(line)) {
        const lo = parseInt(maps.slice(start, dash), 16);
        const hi = parseInt(maps.slice(dash + 1, space), 16);
        madvise(lo, hi - lo, MADV_DOFORK);
        count++;
      }
      advised.add(key);
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
