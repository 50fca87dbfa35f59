// /proc/self/maps (and smaps): this process's mappings. Parsing is pure; reading is one call.
import { readFileSync, realpathSync } from "node:fs";

/** One line of /proc/self/maps. */
export interface Mapping {
  lo: number;
  hi: number;
  perms: string;
  offset: number;
  path: string;
}

/** Parses the text of a maps file, in address order. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [range, perms, offset, , , ...path] = line.split(/\s+/);
    const dash = range!.indexOf("-");
    out.push({
      lo: parseInt(range!.slice(0, dash), 16),
      hi: parseInt(range!.slice(dash + 1), 16),
      perms: perms!,
      offset: parseInt(offset!, 16),
      path: path.join(" "),
    });
  }
  return out;
}

/** The text of /proc/self/maps (cheap, unlike smaps). */
export function mapsText(): string {
  return readFileSync("/proc/self/maps", "latin1");
}

/** The mappings of this process, in address order. */
export function readMaps(): Mapping[] {
  return parseMaps(mapsText());
}

/** The mapping holding [addr, addr+len), or undefined; `writable` also requires rw. */
export function mappingOf(maps: Mapping[], addr: number, len: number, writable = false): Mapping | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = maps[mid]!;
    if (addr < m.lo) hi = mid - 1;
    else if (addr >= m.hi) lo = mid + 1;
    else return addr + len <= m.hi && m.perms[0] === "r" && (!writable || m.perms[1] === "w") ? m : undefined;
  }
  return undefined;
}

/** The path of this process's executable, or "" when it cannot be read. */
export function exePath(): string {
  try {
    return realpathSync("/proc/self/exe");
  } catch {
    return "";
  }
}

/** The executable's writable data: its rw mappings and the anonymous one right after (bss). */
export function dataRanges(maps: Mapping[], exe: string = exePath()): Array<[number, number]> {
  if (!exe) return [];
  const out: Array<[number, number]> = [];
  maps.forEach((m, i) => {
    if (m.path !== exe || !m.perms.startsWith("rw")) return;
    out.push([m.lo, m.hi]);
    const next = maps[i + 1];
    if (next && next.lo === m.hi && next.path === "" && next.perms.startsWith("rw")) out.push([next.lo, next.hi]);
  });
  return out;
}

/** The executable's code: its mappings that may run (r-x). */
export function codeRanges(maps: Mapping[], exe: string = exePath()): Array<[number, number]> {
  if (!exe) return [];
  return maps.filter((m) => m.path === exe && m.perms[0] === "r" && m.perms[2] === "x").map((m): [number, number] => [m.lo, m.hi]);
}

// Kernel-provided mappings that are never copied on fork or refuse advice.
const SPECIAL = /\[(vvar|vvar_vclock|vdso|vsyscall)\]/;

/**
 * Calls `fn(lo, hi)` for each mapping of a maps text but the kernel's special ones, without
 * building objects (the fork path runs this on every snapshot). Returns how many.
 */
export function eachOrdinaryRange(maps: string, fn: (lo: number, hi: number) => void): number {
  let count = 0;
  let start = 0;
  while (start < maps.length) {
    let end = maps.indexOf("\n", start);
    if (end === -1) end = maps.length;
    const dash = maps.indexOf("-", start);
    const space = maps.indexOf(" ", dash);
    if (dash > start && space > dash && space < end && !SPECIAL.test(maps.slice(start, end))) {
      fn(parseInt(maps.slice(start, dash), 16), parseInt(maps.slice(dash + 1, space), 16));
      count++;
    }
    start = end + 1;
  }
  return count;
}

/**
 * The ranges of an smaps text whose VmFlags hold `flag` (e.g. "dc", MADV_DONTFORK), as
 * "start-end". smaps is slow on a large heap: for tests and `doctor`, never on the fork path.
 */
export function rangesWithFlag(smaps: string, flag: string): string[] {
  const out: string[] = [];
  let range = "";
  const has = new RegExp(` ${flag}\\b`);
  for (const line of smaps.split("\n")) {
    const m = /^([0-9a-f]+-[0-9a-f]+) /.exec(line);
    if (m) range = m[1]!;
    else if (line.startsWith("VmFlags:") && has.test(line)) out.push(range);
  }
  return out;
}

/** The mappings of this process still marked MADV_DONTFORK. */
export function dontforkRegions(): string[] {
  return rangesWithFlag(readFileSync("/proc/self/smaps", "latin1"), "dc");
}
