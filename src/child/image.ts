// What the runtime repairs read about this process: its mappings, the executable's writable data
// (where Bun's statics live), the executable file's initial image of it, and its threads.
import { closeSync, openSync, readdirSync, readFileSync, readSync, realpathSync } from "node:fs";

/** One line of /proc/self/maps. */
export interface Mapping {
  lo: number;
  hi: number;
  perms: string;
  offset: number;
  path: string;
}

/** The mappings of this process, in address order. */
export function readMaps(): Mapping[] {
  const out: Mapping[] = [];
  for (const line of readFileSync("/proc/self/maps", "latin1").split("\n")) {
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

/** The executable's writable data: its rw mappings and the anonymous one right after (bss). */
export function dataRanges(maps: Mapping[]): Array<[number, number]> {
  let exe = "";
  try {
    exe = realpathSync("/proc/self/exe");
  } catch {
    return [];
  }
  const out: Array<[number, number]> = [];
  maps.forEach((m, i) => {
    if (m.path !== exe || !m.perms.startsWith("rw")) return;
    out.push([m.lo, m.hi]);
    const next = maps[i + 1];
    if (next && next.lo === m.hi && next.path === "" && next.perms.startsWith("rw")) out.push([next.lo, next.hi]);
  });
  return out;
}

/**
 * The 32-bit word at `addr` as the executable file initialises it (its value before the program
 * ran), or undefined when `addr` is not in a file-backed mapping of the executable.
 */
export function imageWord(maps: Mapping[], addr: number): number | undefined {
  const m = mappingOf(maps, addr, 4);
  if (!m || !m.path.startsWith("/")) return undefined;
  let fd = -1;
  try {
    fd = openSync("/proc/self/exe", "r");
    const buf = new Uint32Array(1);
    if (readSync(fd, buf, 0, 4, m.offset + (addr - m.lo)) !== 4) return undefined;
    return buf[0];
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** A thread of this process. */
export interface ThreadInfo {
  tid: number;
  name: string;
}

/** The threads of this process (names from /proc/self/task/<tid>/comm). */
export function threads(): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const t of readdirSync("/proc/self/task")) {
    try {
      out.push({ tid: Number(t), name: readFileSync(`/proc/self/task/${t}/comm`, "latin1").trimEnd() });
    } catch {}
  }
  return out;
}
