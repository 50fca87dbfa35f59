// What the Bun-internals finders read: a process image, made of its mappings, a way to read and
// write its memory, and the executable file's initial data. The live image is this process; a
// test builds a synthetic one (test/unit/bun-internals), so that every proof can be run, and
// made to fail, without touching live memory.
import { closeSync, openSync, readSync } from "node:fs";
import { codeRanges, dataRanges, exePath, mappingOf, readMaps, type Mapping } from "../proc/maps.ts";
import { gettid, pthreadSelf } from "../sys/process.ts";
import { liveMemory, type Memory } from "../sys/mem.ts";

/** A process as the finders see it. */
export interface ProcessImage {
  /** Its mappings, in address order. */
  maps: Mapping[];
  /** The executable's writable data (rw mappings and the bss after them), where Bun's statics live. */
  data: Array<[number, number]>;
  /** The executable's code (r-x mappings), where the Zig releases' start flags are found from. */
  code: Array<[number, number]>;
  /** Its memory. */
  mem: Memory;
  /** The 32-bit word at `addr` as the executable file initialises it, or undefined outside the file's mappings. */
  initial(addr: number): number | undefined;
  /** The calling thread's descriptor (pthread_t) and kernel tid, to learn where a descriptor keeps the tid. */
  self: { pthread: number; tid: number };
}

// The word at `addr` of the executable file, read through the mapping that holds it.
function fileWord(maps: Mapping[], addr: number): number | undefined {
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

/** This process, as it is now (its mappings read once, here). */
export function liveImage(): ProcessImage {
  const maps = readMaps();
  const exe = exePath();
  return {
    maps,
    data: dataRanges(maps, exe),
    code: codeRanges(maps, exe),
    mem: liveMemory,
    initial: (addr) => fileWord(maps, addr),
    self: { pthread: pthreadSelf(), tid: gettid() },
  };
}

/**
 * Where a thread descriptor (pthread_t) keeps the kernel tid: found on the calling thread's own
 * descriptor, where it must appear exactly once in the first 2 KiB (0x2d0 on glibc x86_64).
 */
export function descriptorTidOffset(img: ProcessImage): number | string {
  const self = img.self.pthread;
  const m = mappingOf(img.maps, self, 8);
  if (!m) return "this thread's descriptor is not readable";
  const words = new Int32Array(img.mem.view(self, Math.min(2048, m.hi - self) & ~3));
  const tid = img.self.tid;
  const hits: number[] = [];
  words.forEach((w, i) => w === tid && hits.push(i * 4));
  if (hits.length !== 1) return `the thread descriptor's layout is not known (${hits.length} places hold the thread id)`;
  return hits[0]!;
}
