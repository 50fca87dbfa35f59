// The /proc parsers on fixed texts, as the kernel writes them.
import { expect, test } from "bun:test";
import { parseCmdline, parseEnviron } from "../../src/proc/environ.ts";
import { fdinfoField, parseRegistrations } from "../../src/proc/fds.ts";
import { codeRanges, dataRanges, eachOrdinaryRange, mappingOf, parseMaps, rangesWithFlag } from "../../src/proc/maps.ts";
import { parseStat, parseSyscall, threads, threadSyscall } from "../../src/proc/threads.ts";
import { nativeFork } from "../../src/sys/ffi.ts";

const MAPS = `55d0c0000000-55d0c0100000 r--p 00000000 08:01 1234 /usr/bin/bun
55d0c0100000-55d0c0200000 rw-p 00100000 08:01 1234 /usr/bin/bun
55d0c0200000-55d0c0300000 rw-p 00000000 00:00 0
7f0000000000-7f0040000000 rwxp 00000000 00:00 0
7ffc00000000-7ffc00002000 r--p 00000000 00:00 0                          [vvar]
7ffc00002000-7ffc00004000 r-xp 00000000 00:00 0                          [vdso]
`;

test("maps: mappings, lookups by address, the executable's data, the ranges fork advice may touch", () => {
  const maps = parseMaps(MAPS);
  expect(maps.length).toBe(6);
  expect(maps[1]).toEqual({ lo: 0x55d0c0100000, hi: 0x55d0c0200000, perms: "rw-p", offset: 0x100000, path: "/usr/bin/bun" });
  expect(mappingOf(maps, 0x55d0c01ffffc, 4, true)).toBe(maps[1]);
  expect(mappingOf(maps, 0x55d0c01ffffe, 4)).toBeUndefined(); // crosses the end
  expect(mappingOf(maps, 0x55d0c0000000, 4, true)).toBeUndefined(); // read-only
  expect(codeRanges(parseMaps("00200000-00300000 r-xp 00000000 08:01 1234 /usr/bin/bun\n" + MAPS), "/usr/bin/bun")).toEqual([[0x200000, 0x300000]]);
  expect(dataRanges(maps, "/usr/bin/bun")).toEqual([[0x55d0c0100000, 0x55d0c0200000], [0x55d0c0200000, 0x55d0c0300000]]);
  const seen: number[] = [];
  expect(eachOrdinaryRange(MAPS, (lo) => seen.push(lo))).toBe(4);
  expect(seen.at(-1)).toBe(0x7f0000000000);
  const smaps = "7f0000000000-7f0040000000 rwxp 00000000 00:00 0\nVmFlags: rd wr ex mr mw me dc nh\n55d0c0100000-55d0c0200000 rw-p\nVmFlags: rd wr mr mw me\n";
  expect(rangesWithFlag(smaps, "dc")).toEqual(["7f0000000000-7f0040000000"]);
});

test("fdinfo: numeric fields and epoll registrations with their inodes", () => {
  const info = "pos:\t0\nflags:\t02004002\nmnt_id:\t15\nino:\t1057\ntfd:        5 events:       19 data:     7f0012345678  pos:0 ino:3f2 sdev:8\ntfd:        9 events: 80000019 data:                9  pos:0 ino:3f9 sdev:8\n";
  expect(fdinfoField(info, "flags", 8)).toBe(0o2004002);
  expect(fdinfoField(info, "nothing")).toBe(0);
  expect(parseRegistrations(info)).toEqual([
    { tfd: 5, events: "19", data: "7f0012345678", ino: "3f2" },
    { tfd: 9, events: "80000019", data: "9", ino: "3f9" },
  ]);
});

test("stat, environ, cmdline: names with spaces and parentheses, values with =", () => {
  expect(parseStat("1234 (Bun Pool 0) S 1 1234 1234 0 -1")).toEqual({ name: "Bun Pool 0", state: "S" });
  expect(parseStat("77 (a) b) (c) R 1")).toEqual({ name: "a) b) (c", state: "R" });
  expect([...parseEnviron("A=1\0B=x=y\0\0C\0")]).toEqual([["A", "1"], ["B", "x=y"]]);
  expect(parseCmdline("bun\0app.ts\0--flag=a b\0")).toEqual(["bun", "app.ts", "--flag=a b"]);
});

test("syscall: a thread blocked in a call (number, arguments, stack pointer), running, or outside a call", () => {
  expect(parseSyscall("202 0x7f04a8c0e8d0 0x189 0x0 0x7f04a8bef3d8 0x0 0xffffffff 0x7f04a8bef3a0 0x28be8a1\n")).toEqual({
    nr: 202,
    args: [0x7f04a8c0e8d0, 0x189, 0, 0x7f04a8bef3d8, 0, 0xffffffff],
    sp: 0x7f04a8bef3a0,
    pc: 0x28be8a1,
  });
  expect(parseSyscall("running\n")).toBeUndefined();
  expect(parseSyscall("-1 0x7ffd6ff8a1e8 0x7f4c495172ad\n")).toBeUndefined();
});

test("threads and their system calls read in C (once the native fork is compiled) agree with node:fs", () => {
  const viaFs = threads().map((t) => `${t.tid} ${t.name}`);
  if (nativeFork() === null) return; // no TinyCC in this Bun: only the node:fs reader exists
  const inC = threads();
  expect(inC.map((t) => `${t.tid} ${t.name}`)).toEqual(viaFs);
  for (const t of inC) expect(Number.isInteger(t.tid) && t.tid > 0 && /^[A-Z]$/.test(t.state)).toBe(true);
  // A helper thread asleep in a system call: the same call either way (the main thread is running).
  const asleep = inC.find((t) => t.tid !== process.pid && t.state === "S");
  if (asleep) {
    const c = threadSyscall(asleep.tid);
    expect(c?.nr).toBeGreaterThanOrEqual(0);
    expect(c?.args.length).toBe(6);
  }
});
