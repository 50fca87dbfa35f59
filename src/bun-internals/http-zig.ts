// Bun's HTTP client thread on the Zig releases (1.2, 1.3): its start flag, and its reset in the
// child (http.ts has the Rust one of 1.4 and what the flag is for).
//
// There the thread is started behind a Zig `bun.once` (`init_once` in src/http/HTTPThread.zig)
// and detached: no handle is kept anywhere. The once is a u32 lock word, then a `done` byte (0,
// then 1 for good). Its slow path in the executable's code locks that word (`lock bts` on it),
// tests `done` (`cmp byte [done], 1`) and starts the thread with pthread_create, passing the
// thread's start routine in rdx. Measured on 1.3.14 (non-PIE, x86_64): `lock bts [0x5ce4e8c]`,
// `cmp byte [0x5ce4e90], 1`, `mov edx, 0x30dccc0`, pthread_create, pthread_detach,
// `movb $1, [0x5ce4e90]`.
//
// Found without symbols: the running "HTTP Client" thread's descriptor is at the top of its stack
// (the stack pointer from /proc/self/task/<tid>/syscall while it waits: a word pointing to itself
// with the thread's tid at the descriptor's tid offset); the descriptor holds its start routine.
// Among the once slow paths in the code, exactly one must pass one of the code addresses the
// descriptor holds to pthread_create, with its lock word in the executable's writable data.
// Reset in the child: `done` back to 0 (the next fetch builds fresh HTTP state and a thread).
// x86_64 only: on arm64 no site is found and the fallback applies.
import { mappingOf } from "../proc/maps.ts";
import type { Memory } from "../sys/mem.ts";
import { HTTP_WHY } from "./http.ts";
import { descriptorTidOffset, type ProcessImage } from "./image.ts";

/** What was proven about the Zig once guarding the HTTP thread's start. */
export interface ZigHttpProof {
  /** Address of the once's lock word; its `done` byte is the next word's low byte. */
  lock: number;
}

const LOCK_BTS = Buffer.from([0xf0, 0x0f, 0xba, 0x2d]); // lock bts dword [rip+d32], imm8
const CMP_WINDOW = 24; // the done test follows the lock within this many bytes
const SLOW_PATH_SPAN = 0x4000; // how far a once's slow path may run before its function ends
const STACK_TOP = 0x10000; // the descriptor is within this many bytes of its stack mapping's top
const DESCRIPTOR_SPAN = 0x1000; // the bytes of a descriptor searched for its start routine

/**
 * The descriptor (pthread_t) of thread `tid`, whose stack pointer is `sp`: within the top of the
 * mapping holding the stack, a word that points to itself with `tid` at offset `off`.
 */
function threadDescriptor(img: ProcessImage, sp: number, tid: number, off: number): number | string {
  const m = sp ? mappingOf(img.maps, sp, 8, true) : undefined;
  if (!m) return "the HTTP thread's stack was not found (it was not waiting in a system call)";
  const lo = Math.max(m.lo, m.hi - STACK_TOP);
  const w = new BigUint64Array(img.mem.view(lo, m.hi - lo));
  const hits: number[] = [];
  for (let i = 0; i < w.length; i++) {
    const a = lo + i * 8;
    if (Number(w[i]!) === a && a + off + 4 <= m.hi && img.mem.peek32(a + off) === tid) hits.push(a);
  }
  return hits.length === 1 ? hits[0]! : `${hits.length} places on the HTTP thread's stack look like its descriptor`;
}

// The lock word of every once site in `b` (code mapped at `lo`) whose slow path passes one of
// `routines` to pthread_create in rdx (`mov edx, imm32` or `lea rdx, [rip+d32]`).
function onceSites(b: Buffer, lo: number, routines: Set<number>, found: Set<number>): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const i32 = (i: number) => dv.getInt32(i, true);
  for (let i = b.indexOf(LOCK_BTS); i >= 0 && i + 9 + CMP_WINDOW + 7 <= b.length; i = b.indexOf(LOCK_BTS, i + 1)) {
    if (b[i + 8] !== 0) continue;
    const lock = lo + i + 9 + i32(i + 4);
    // cmp byte [rip+d32], 1 on the done byte (lock + 4), right after.
    let j = i + 9;
    while (j < i + 9 + CMP_WINDOW && !(b[j] === 0x80 && b[j + 1] === 0x3d && b[j + 6] === 1 && lo + j + 7 + i32(j + 2) === lock + 4)) j++;
    if (j === i + 9 + CMP_WINDOW) continue;
    // The slow path, up to the int3 padding that ends its function.
    const end = Math.min(b.length - 7, i + SLOW_PATH_SPAN);
    for (let k = j; k < end && !(b[k] === 0xcc && b[k + 1] === 0xcc); k++) {
      const target = b[k] === 0xba ? dv.getUint32(k + 1, true) : b[k] === 0x48 && b[k + 1] === 0x8d && b[k + 2] === 0x15 ? lo + k + 7 + i32(k + 3) : -1;
      if (routines.has(target)) found.add(lock);
    }
  }
}

/**
 * Looks for the Zig once that started the running "HTTP Client" thread `tid`, whose stack pointer
 * (while it waits in a system call) is `sp`. Returns the proof when exactly one once fits, else
 * the reason. Reads only: the thread's descriptor, the executable's code, its writable data.
 */
export function findZigHttpOnce(img: ProcessImage, tid: number, sp: number): ZigHttpProof | string {
  const off = descriptorTidOffset(img);
  if (typeof off === "string") return off;
  const d = threadDescriptor(img, sp, tid, off);
  if (typeof d === "string") return d;
  const inCode = (a: number) => img.code.some(([lo, hi]) => a >= lo && a < hi);
  const dm = mappingOf(img.maps, d, 8)!;
  const routines = new Set<number>();
  for (const v of new BigUint64Array(img.mem.view(d, Math.min(DESCRIPTOR_SPAN, dm.hi - d) & ~7))) if (inCode(Number(v))) routines.add(Number(v));
  if (routines.size === 0) return "the HTTP thread's descriptor holds no start routine in Bun's code";
  const found = new Set<number>();
  for (const [lo, hi] of img.code) onceSites(Buffer.from(img.mem.view(lo, hi - lo)), lo, routines, found);
  const locks = [...found].filter((lock) => img.data.some(([lo, hi]) => lock >= lo && lock + 8 <= hi));
  if (locks.length !== 1) return `${locks.length} once flags in Bun's code start its HTTP thread, exactly 1 is needed`;
  return { lock: locks[0]! };
}

/**
 * Checks the proof against memory: "complete" (the thread was started), "incomplete" (never
 * started here: nothing to repair), or why it no longer holds.
 */
export function checkZigHttpOnce(img: ProcessImage, h: ZigHttpProof): "complete" | "incomplete" | string {
  if (!mappingOf(img.maps, h.lock, 8, true)) return HTTP_WHY[4]!(0);
  const lock = img.mem.peek32(h.lock);
  const done = img.mem.peek32(h.lock + 4) & 0xff;
  if (lock !== 0) return HTTP_WHY[5]!(lock);
  if (done === 1) return "complete";
  if (done === 0) return "incomplete";
  return HTTP_WHY[6]!(done);
}

/** In the child: the next fetch starts a new HTTP thread with fresh state (the done byte only). */
export function resetZigHttpOnce(mem: Memory, h: ZigHttpProof): void {
  mem.poke32(h.lock + 4, (mem.peek32(h.lock + 4) & ~0xff) >>> 0);
}
