// The Bun-internals finders on synthetic process images: each proof holds on a faithful image
// and fails, with its reason and without writing anything, on an image mutated the way another
// Bun release or an unlucky moment would mutate it.
import { describe, expect, test } from "bun:test";
import { checkHttpOnce, findHttpOnce, resetHttpOnce } from "../../src/bun-internals/http.ts";
import { checkZigHttpOnce, findZigHttpOnce, resetZigHttpOnce } from "../../src/bun-internals/http-zig.ts";
import type { ProcessImage } from "../../src/bun-internals/image.ts";
import { checkPool, findPool, resetPool } from "../../src/bun-internals/workpool.ts";
import type { Mapping } from "../../src/proc/maps.ts";
import type { Memory } from "../../src/sys/mem.ts";

// A memory made of a few writable regions; reading outside them throws (as a fault would kill).
class Synthetic implements Memory {
  regions: { lo: number; bytes: Uint8Array }[] = [];
  writes = 0;
  add(lo: number, size: number): void {
    this.regions.push({ lo, bytes: new Uint8Array(size) });
  }
  private at(addr: number, len: number): DataView {
    const r = this.regions.find((x) => addr >= x.lo && addr + len <= x.lo + x.bytes.length);
    if (!r) throw new Error(`fault at 0x${addr.toString(16)}`);
    return new DataView(r.bytes.buffer, addr - r.lo, len);
  }
  view(addr: number, len: number): ArrayBuffer {
    const v = this.at(addr, len);
    return v.buffer.slice(v.byteOffset, v.byteOffset + len) as ArrayBuffer;
  }
  peek32 = (addr: number) => this.at(addr, 4).getUint32(0, true);
  peek64 = (addr: number) => Number(this.at(addr, 8).getBigUint64(0, true));
  poke32 = (addr: number, v: number) => {
    this.writes++;
    this.at(addr, 4).setUint32(0, v, true);
  };
  poke64 = (addr: number, v: number) => {
    this.writes++;
    this.at(addr, 8).setBigUint64(0, BigInt(v), true);
  };
  maps(): Mapping[] {
    return this.regions.map((r) => ({ lo: r.lo, hi: r.lo + r.bytes.length, perms: "rw-p", offset: 0, path: "" })).sort((a, b) => a.lo - b.lo);
  }
}

const DATA = 0x5555_0000_0000; // the executable's bss (user-space addresses above 4 GiB, as on Linux)
const STACKS = 0x7f00_0000_0000; // workers' Thread structs live on their stacks
const DESCRIPTORS = 0x7f10_0000_0000; // pthread descriptors
const TID_AT = 0x2d0;

function image(mem: Synthetic, initial: Map<number, number> = new Map()): ProcessImage {
  return { maps: mem.maps(), data: [[DATA, DATA + 0x1000]], code: [], mem, initial: (a) => initial.get(a), self: { pthread: DESCRIPTORS, tid: 111 } };
}

// A work pool as Bun's ThreadPool lays it out: run queue, threads list, stack_size, max_threads,
// sync, idle_event; `spawned` workers, `idle` of them idle, each pointing back to the pool.
const BASE = DATA + 0x100;
function pool(spawned = 2, idle = 1): Synthetic {
  const m = new Synthetic();
  m.add(DATA, 0x1000);
  m.add(STACKS, 0x10000);
  m.add(DESCRIPTORS, 0x2000);
  layPool(m, BASE, STACKS, spawned, idle);
  m.writes = 0;
  return m;
}
function layPool(m: Synthetic, base: number, stacks: number, spawned: number, idle: number): void {
  const BASE = base;
  m.poke64(BASE + 0, 0); // run queue
  m.poke32(BASE + 24, 0x400000); // stack_size
  m.poke32(BASE + 28, 64); // max_threads
  m.poke32(BASE + 32, idle | (spawned << 14)); // sync
  m.poke32(BASE + 36, 1); // idle_event: WAITING
  let next = 0;
  for (let n = spawned - 1; n >= 0; n--) {
    const t = stacks + n * 0x1000;
    m.poke64(t, next);
    m.poke64(t + 64, BASE);
    next = t;
  }
  m.poke64(BASE + 16, next); // threads
}

describe("the work pool", () => {
  test("found and proven on a faithful image; the reset writes the three fields and nothing else", () => {
    const m = pool();
    const p = findPool(image(m), 2);
    expect(p).toEqual({ base: BASE, stackSizeOff: 24, maxThreads: 64, syncOff: 32, idleEventOff: 36, runQueueOff: 0, threadsOff: 16, backOff: 64 });
    if (typeof p === "string") return;
    expect(checkPool(image(m), p)).toEqual({ spawned: 2, idle: 1, state: 0 });
    expect(m.writes).toBe(0);
    resetPool(m, p);
    expect(m.writes).toBe(3);
    expect([m.peek64(BASE + 16), m.peek32(BASE + 32), m.peek32(BASE + 36)]).toEqual([0, 0, 0]);
    expect(checkPool(image(m), p)).toEqual({ spawned: 0, idle: 0, state: 0 });
  });

  test("another layout (a different stack size, a thread count that does not match) is not taken for the pool", () => {
    const m = pool();
    m.poke32(BASE + 24, 0x800000);
    expect(findPool(image(m), 2)).toBe("0 places in Bun's memory look like its work pool, exactly 1 is needed");
    expect(findPool(image(pool()), 3)).toBe("0 places in Bun's memory look like its work pool, exactly 1 is needed");
    expect(findPool(image(pool()), 0)).toBe("0 pool threads");
  });

  test("two places that both fit: refused, not guessed", () => {
    const m = pool();
    layPool(m, BASE + 0x400, STACKS + 0x8000, 2, 1);
    expect(findPool(image(m), 2)).toBe("2 places in Bun's memory look like its work pool, exactly 1 is needed");
    // A copy whose threads point back to the first is no pool: the first is still proven alone.
    const n = pool();
    for (let off = 0; off < 40; off += 4) n.poke32(BASE + 0x400 + off, n.peek32(BASE + off));
    expect(findPool(image(n), 2)).toMatchObject({ base: BASE });
  });

  test("the child's re-check refuses each inconsistent state, with its reason, and writes nothing", () => {
    const cases: [string, (m: Synthetic) => void][] = [
      ["the pool's configuration changed", (m) => m.poke32(BASE + 28, 65)],
      ["the pool was shut down", (m) => m.poke32(BASE + 32, (3 << 30) | (2 << 14))],
      ["the pool's state is inconsistent", (m) => m.poke32(BASE + 32, 3 | (2 << 14))],
      ["the pool's idle event is shut down", (m) => m.poke32(BASE + 36, 3)],
      ["a pool thread was taking work off the queue at the fork", (m) => m.poke64(BASE, 0x1000 | 2)],
      ["a listed pool thread does not point back to the pool", (m) => m.poke64(STACKS + 0x1000 + 64, BASE + 8)],
      ["the pool lists more threads than its state says (2)", (m) => m.poke64(STACKS + 0x1000, STACKS + 0x2000)],
      ["the pool lists 1 threads, its state says 2", (m) => m.poke64(STACKS, 0)],
      ["a listed pool thread is not in writable memory", (m) => m.poke64(STACKS, 0x7000)],
    ];
    const layout = findPool(image(pool()), 2);
    if (typeof layout === "string") throw new Error(layout);
    for (const [why, mutate] of cases) {
      const m = pool();
      mutate(m);
      m.writes = 0;
      expect(checkPool(image(m), layout)).toBe(why);
      expect(m.writes).toBe(0);
    }
  });
});

// The HTTP thread's statics: the JoinHandle's pthread_t and its Once, then INIT_ONCE.
const SLOT = DATA + 0x200;
const HTTP_THREAD = DESCRIPTORS + 0x1000;
function http(): { m: Synthetic; initial: Map<number, number> } {
  const m = new Synthetic();
  m.add(DATA, 0x1000);
  m.add(DESCRIPTORS, 0x2000);
  m.poke32(DESCRIPTORS + TID_AT, 111); // this thread's tid in its descriptor
  m.poke32(HTTP_THREAD + TID_AT, 222); // the HTTP thread's
  m.poke64(SLOT, HTTP_THREAD);
  m.writes = 0;
  return { m, initial: new Map([[SLOT + 8, 3], [SLOT + 16, 3]]) };
}

describe("the HTTP thread's start flag", () => {
  test("found by the thread's tid and proven by the file's initial values; the reset writes one word", () => {
    const { m, initial } = http();
    const h = findHttpOnce(image(m, initial), 222);
    expect(h).toEqual({ slot: SLOT, pthread: HTTP_THREAD, once: SLOT + 16 });
    if (typeof h === "string") return;
    expect(checkHttpOnce(image(m, initial), h)).toBe("complete");
    resetHttpOnce(m, h);
    expect(m.writes).toBe(1);
    expect(checkHttpOnce(image(m, initial), h)).toBe("incomplete");
  });

  test("a release whose statics differ is refused with its reason", () => {
    const { m, initial } = http();
    expect(findHttpOnce(image(m, new Map()), 222)).toBe("0 places in Bun's memory look like its HTTP thread's start flag, exactly 1 is needed");
    expect(findHttpOnce(image(m, initial), 333)).toBe("0 places in Bun's memory look like its HTTP thread's start flag, exactly 1 is needed");
    m.poke32(DESCRIPTORS + 0x10, 111); // the tid twice in our own descriptor: its layout is unknown
    expect(findHttpOnce(image(m, initial), 222)).toBe("the thread descriptor's layout is not known (2 places hold the thread id)");
  });

  test("the child's re-check: a changed handle, a start in progress", () => {
    const { m, initial } = http();
    const h = { slot: SLOT, pthread: HTTP_THREAD, once: SLOT + 16 };
    m.poke32(SLOT + 16, 1);
    expect(checkHttpOnce(image(m, initial), h)).toBe("the HTTP thread was being started at the fork (state 1)");
    m.poke64(SLOT, HTTP_THREAD + 8);
    expect(checkHttpOnce(image(m, initial), h)).toBe("the HTTP thread's handle changed");
  });
});

// Bun 1.2/1.3: the Zig once that starts the HTTP thread, found from the thread's descriptor (at
// the top of its stack: a self-pointer, its tid, its start routine) and the once's slow path in
// the code: lock bts [lock]; cmp byte [lock+4], 1; ... the start routine into rdx; int3 padding.
const ZCODE = 0x20_0000; // non-PIE, as the release builds
const ZDATA = 0x600_0000;
const LOCK = ZDATA + 0x40;
const ROUTINE = ZCODE + 0x800;
const HTTP_STACK = 0x7f20_0000_0000;
const HTTP_DESC = HTTP_STACK + 0x1f000;
type ZigSite = { at: number; lock: number; routine: number; lea?: boolean };
function zig(sites: ZigSite[] = [{ at: 0x10, lock: LOCK, routine: ROUTINE }]): { m: Synthetic; img: () => ProcessImage } {
  const m = new Synthetic();
  m.add(ZCODE, 0x1000);
  m.add(ZDATA, 0x1000);
  m.add(DESCRIPTORS, 0x2000);
  m.add(HTTP_STACK, 0x20000);
  m.poke32(DESCRIPTORS + TID_AT, 111);
  m.poke64(HTTP_DESC, HTTP_DESC); // the descriptor points to itself
  m.poke32(HTTP_DESC + TID_AT, 222);
  m.poke64(HTTP_DESC + 0x638, ROUTINE); // its start routine
  const code = new Uint8Array(0x1000).fill(0x90);
  const d32 = (at: number, v: number) => new DataView(code.buffer).setInt32(at, v, true);
  for (const { at, lock, routine, lea } of sites) {
    code.set([0xf0, 0x0f, 0xba, 0x2d, 0, 0, 0, 0, 0], at); // lock bts dword [rip+d32], 0
    d32(at + 4, lock - (ZCODE + at + 9));
    code.set([0x80, 0x3d, 0, 0, 0, 0, 1], at + 12); // cmp byte [rip+d32], 1
    d32(at + 14, lock + 4 - (ZCODE + at + 19));
    if (lea) {
      code.set([0x48, 0x8d, 0x15], at + 40); // lea rdx, [rip+d32]
      d32(at + 43, routine - (ZCODE + at + 47));
    } else {
      code[at + 40] = 0xba; // mov edx, imm32
      new DataView(code.buffer).setUint32(at + 41, routine, true);
    }
    code.set([0xcc, 0xcc], at + 60);
  }
  for (let i = 0; i < code.length; i += 4) m.poke32(ZCODE + i, new DataView(code.buffer).getUint32(i, true));
  m.poke32(LOCK + 4, 1); // done
  m.writes = 0;
  const maps = () => m.maps();
  return { m, img: () => ({ maps: maps(), data: [[ZDATA, ZDATA + 0x1000]], code: [[ZCODE, ZCODE + 0x1000]], mem: m, initial: () => undefined, self: { pthread: DESCRIPTORS, tid: 111 } }) };
}
const SP = HTTP_STACK + 0x1e000;

describe("the HTTP thread's start flag on Bun 1.2/1.3 (a Zig once)", () => {
  test("found from the thread's descriptor and the once's slow path (mov or lea); the reset writes the done byte alone", () => {
    for (const lea of [false, true]) {
      const { m, img } = zig([{ at: 0x10, lock: LOCK, routine: ROUTINE, lea }]);
      m.poke32(LOCK + 4, 0xabcd_0001); // the bytes after done are not the flag's
      m.writes = 0;
      const h = findZigHttpOnce(img(), 222, SP);
      expect(h).toEqual({ lock: LOCK });
      if (typeof h === "string") return;
      expect(checkZigHttpOnce(img(), h)).toBe("complete");
      expect(m.writes).toBe(0);
      resetZigHttpOnce(m, h);
      expect(m.writes).toBe(1);
      expect(m.peek32(LOCK + 4)).toBe(0xabcd_0000);
      expect(checkZigHttpOnce(img(), h)).toBe("incomplete");
    }
  });

  test("a release whose code or thread differs is refused with its reason, never guessed", () => {
    const other = ZCODE + 0x900;
    expect(findZigHttpOnce(zig().img(), 222, 0)).toBe("the HTTP thread's stack was not found (it was not waiting in a system call)");
    expect(findZigHttpOnce(zig().img(), 333, SP)).toBe("0 places on the HTTP thread's stack look like its descriptor");
    const noRoutine = zig();
    noRoutine.m.poke64(HTTP_DESC + 0x638, 0x1234);
    expect(findZigHttpOnce(noRoutine.img(), 222, SP)).toBe("the HTTP thread's descriptor holds no start routine in Bun's code");
    const none = "0 once flags in Bun's code start its HTTP thread, exactly 1 is needed";
    expect(findZigHttpOnce(zig([{ at: 0x10, lock: LOCK, routine: other }]).img(), 222, SP)).toBe(none); // another thread's once
    expect(findZigHttpOnce(zig([{ at: 0x10, lock: ZCODE + 0x100, routine: ROUTINE }]).img(), 222, SP)).toBe(none); // lock not in writable data
    const twice = zig([{ at: 0x10, lock: LOCK, routine: ROUTINE }, { at: 0x100, lock: LOCK + 0x10, routine: ROUTINE }]);
    expect(findZigHttpOnce(twice.img(), 222, SP)).toBe("2 once flags in Bun's code start its HTTP thread, exactly 1 is needed");
    // The same once reached from two sites is one flag.
    expect(findZigHttpOnce(zig([{ at: 0x10, lock: LOCK, routine: ROUTINE }, { at: 0x100, lock: LOCK, routine: ROUTINE }]).img(), 222, SP)).toEqual({ lock: LOCK });
  });

  test("the child's re-check: a start in progress, a flag that is no once; nothing written", () => {
    const cases: [string, (m: Synthetic) => void][] = [
      ["the HTTP thread was being started at the fork (lock 1)", (m) => m.poke32(LOCK, 1)],
      ["the HTTP thread's start flag holds 2", (m) => m.poke32(LOCK + 4, 2)],
    ];
    for (const [why, mutate] of cases) {
      const { m, img } = zig();
      mutate(m);
      m.writes = 0;
      expect(checkZigHttpOnce(img(), { lock: LOCK })).toBe(why);
      expect(m.writes).toBe(0);
    }
    expect(checkZigHttpOnce(zig().img(), { lock: ZDATA + 0x2000 })).toBe("the HTTP thread's start flag is not mapped");
  });
});
