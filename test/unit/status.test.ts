// Checks src/status.ts against the C library's own <sys/wait.h> macros and <signal.h> constants.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cc, CString, type Pointer } from "bun:ffi";
import { join } from "node:path";
import {
  decodeStatus,
  describeStatus,
  getDefaultRtmin,
  setDefaultRtmin,
  SIGNAL_ALIASES,
  SIGNALS,
  signalName,
  signalNumber,
  type WaitStatus,
} from "../../src/status.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const shim = cc({
  source: join(import.meta.dir, "../fixtures", "wait_macros.c"),
  symbols: {
    wait_flags: { args: ["int"], returns: "int" },
    wait_numbers: { args: ["int"], returns: "int" },
    sig_rtmin: { args: [], returns: "int" },
    sig_rtmax: { args: [], returns: "int" },
    is_glibc: { args: [], returns: "int" },
    sig_description: { args: ["int"], returns: "ptr" },
    sig_constant_count: { args: [], returns: "int" },
    sig_constant_name: { args: ["int"], returns: "ptr" },
    sig_constant_number: { args: ["int"], returns: "int" },
  },
});
// Strings come back as pointers read with CString: cc()'s "cstring" return type gives the raw
// address as a number on Bun 1.2 and 1.3 (dlopen's does not).
const c = {
  ...shim.symbols,
  sig_description: (n: number) => new CString(shim.symbols.sig_description(n) as Pointer).toString(),
  sig_constant_name: (i: number) => new CString(shim.symbols.sig_constant_name(i) as Pointer).toString(),
};
afterAll(() => shim.close());

const STANDARD: Record<number, string> = {
  1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
  8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
  14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
  20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
  26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
};

// What the C macros say about `s`, unpacked from the shim's two packed ints.
function macros(s: number) {
  const f = c.wait_flags(s);
  const n = c.wait_numbers(s);
  return {
    exited: (f & 1) !== 0,
    signaled: (f & 2) !== 0,
    stopped: (f & 4) !== 0,
    continued: (f & 8) !== 0,
    coreDumped: (f & 16) !== 0,
    exitStatus: n & 0xff,
    termSig: (n >> 8) & 0xff,
    stopSig: (n >> 16) & 0xff,
  };
}

// The WaitStatus the macros imply for `s` (with rtmin 34), or a string naming an inconsistency.
function expectedFromC(s: number): WaitStatus | string {
  const m = macros(s);
  const hits = [m.exited, m.signaled, m.stopped, m.continued].filter(Boolean).length;
  if (hits > 1) return `status ${s}: ${hits} macros true at once`;
  if (m.exited) return { kind: "exited", code: m.exitStatus };
  if (m.signaled) return { kind: "signaled", signo: m.termSig, signal: signalName(m.termSig, 34), coreDumped: m.coreDumped };
  if (m.stopped) return { kind: "stopped", signo: m.stopSig, signal: signalName(m.stopSig, 34) };
  if (m.continued) return { kind: "continued" };
  return { kind: "unknown", status: s | 0 };
}

// Every mismatch between decodeStatus and the C macros over `values`, as readable strings.
function mismatches(values: Iterable<number>): string[] {
  const bad: string[] = [];
  for (const s of values) {
    const want = expectedFromC(s);
    const got = decodeStatus(s, 34);
    if (typeof want === "string") bad.push(want);
    else if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`0x${(s >>> 0).toString(16)}: got ${JSON.stringify(got)}, C says ${JSON.stringify(want)}`);
  }
  return bad;
}

// The integers lo..hi inclusive.
function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

describe("decodeStatus against <sys/wait.h>", () => {
  test("matches every macro for all 65,536 16-bit statuses", () => {
    const all = range(0, 0xffff);
    expect(all.length).toBe(65536);
    expect(mismatches(all)).toEqual([]);
  });

  test("matches the macros for int statuses beyond 16 bits and negative ones", () => {
    const samples = [0x10000, 0x1007f, 0x1ffff, 0x17f, 0xfffe, 0x7fffffff, -1, -0x80000000, -0x10001, -0xff01];
    let x = 0x9e3779b9 | 0; // xorshift32 for a fixed pseudo-random spread of int32 values
    for (let i = 0; i < 20000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      samples.push(x | 0);
    }
    expect(mismatches(samples)).toEqual([]);
  });

  test("the macros partition 0..0xffff into disjoint classes of the expected sizes", () => {
    const counts: Record<string, number> = {};
    for (const s of range(0, 0xffff)) {
      const k = decodeStatus(s).kind;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    // exited: low byte 0x00 or 0x80; signaled: termsig 1..126 (with or without the core bit);
    // stopped: low byte 0x7f; continued: 0xffff; unknown: low byte 0xff except 0xffff.
    expect(counts).toEqual({ exited: 512, signaled: 126 * 2 * 256, stopped: 256, continued: 1, unknown: 255 });
  });

  test("edge cases decode as glibc says", () => {
    const ffff = macros(0xffff);
    expect([ffff.continued, ffff.stopped, ffff.signaled, ffff.exited]).toEqual([true, false, false, false]);
    expect(decodeStatus(0xffff)).toEqual({ kind: "continued" });
    expect(macros(0x7f).stopped).toBe(true);
    expect(decodeStatus(0x7f)).toEqual({ kind: "stopped", signo: 0, signal: "SIG0" });
    expect(macros(0x80).exited).toBe(true);
    expect(decodeStatus(0x80)).toEqual({ kind: "exited", code: 0 });
    expect(decodeStatus(0xff)).toEqual({ kind: "unknown", status: 0xff });
    expect(decodeStatus(0x1ffff)).toEqual({ kind: "unknown", status: 0x1ffff });
    expect(decodeStatus(0)).toEqual({ kind: "exited", code: 0 });
    expect(decodeStatus(0xff00)).toEqual({ kind: "exited", code: 255 });
    expect(decodeStatus(0x8b)).toEqual({ kind: "signaled", signo: 11, signal: "SIGSEGV", coreDumped: true });
    expect(decodeStatus(0x09)).toEqual({ kind: "signaled", signo: 9, signal: "SIGKILL", coreDumped: false });
    expect(decodeStatus(0x7e)).toEqual({ kind: "signaled", signo: 126, signal: "SIG126", coreDumped: false });
    expect(decodeStatus(0x28, 35)).toEqual({ kind: "signaled", signo: 40, signal: "SIGRTMIN+5", coreDumped: false });
    expect(decodeStatus(0x137f)).toEqual({ kind: "stopped", signo: 19, signal: "SIGSTOP" });
  });

  test("a status that is not an integer, or a bad rtmin, throws RangeError", () => {
    expect(() => decodeStatus(1.5)).toThrow(RangeError);
    expect(() => decodeStatus(Number.NaN)).toThrow(RangeError);
    expect(() => decodeStatus(0, 31)).toThrow(RangeError);
    expect(() => decodeStatus(0, 65)).toThrow(RangeError);
  });
});

describe("signal table against <signal.h>", () => {
  const constants = range(0, c.sig_constant_count() - 1).map((i) => ({
    name: String(c.sig_constant_name(i)),
    number: c.sig_constant_number(i),
  }));

  test("SIGNALS is exactly Linux's standard signals 1..31 with the header's numbers", () => {
    expect(SIGNALS.map((s) => s.number)).toEqual(range(1, 31));
    expect(Object.fromEntries(SIGNALS.map((s) => [s.number, s.name]))).toEqual(STANDARD);
    const header = Object.fromEntries(constants.map((k) => [k.name, k.number]));
    for (const s of SIGNALS) expect([s.name, header[s.name]]).toEqual([s.name, s.number]);
    expect(Object.isFrozen(SIGNALS) && SIGNALS.every((s) => Object.isFrozen(s))).toBe(true);
  });

  test("every header constant, aliases included, maps through signalNumber to its value", () => {
    expect(constants.length).toBeGreaterThanOrEqual(33);
    for (const k of constants) expect([k.name, signalNumber(k.name)]).toEqual([k.name, k.number]);
    for (const [name, n] of Object.entries(SIGNAL_ALIASES)) {
      const header = constants.find((k) => k.name === name);
      if (header) expect([name, n]).toEqual([name, header.number]);
      expect(signalName(n)).not.toBe(name);
    }
  });

  test("descriptions are glibc's strsignal() text", () => {
    if (c.is_glibc() !== 1) return void expect(c.is_glibc()).toBe(0);
    for (const s of SIGNALS) expect([s.number, s.description]).toEqual([s.number, String(c.sig_description(s.number))]);
  });
});

describe("signalName", () => {
  test("names 1..64 with glibc's SIGRTMIN 34", () => {
    const want = range(1, 64).map((n) => STANDARD[n] ?? (n < 34 ? `SIG${n}` : n === 34 ? "SIGRTMIN" : `SIGRTMIN+${n - 34}`));
    expect(range(1, 64).map((n) => signalName(n, 34))).toEqual(want);
    expect(signalName(32, 34)).toBe("SIG32");
    expect(signalName(33, 34)).toBe("SIG33");
    expect(signalName(34, 34)).toBe("SIGRTMIN");
    expect(signalName(35, 34)).toBe("SIGRTMIN+1");
    expect(signalName(64, 34)).toBe("SIGRTMIN+30");
  });

  test("names 1..64 with musl's SIGRTMIN 35", () => {
    const want = range(1, 64).map((n) => STANDARD[n] ?? (n < 35 ? `SIG${n}` : n === 35 ? "SIGRTMIN" : `SIGRTMIN+${n - 35}`));
    expect(range(1, 64).map((n) => signalName(n, 35))).toEqual(want);
    expect(signalName(34, 35)).toBe("SIG34");
    expect(signalName(35, 35)).toBe("SIGRTMIN");
    expect(signalName(64, 35)).toBe("SIGRTMIN+29");
  });

  test("SIGRTMIN+n agrees with the C library's SIGRTMIN..SIGRTMAX (and strsignal on glibc)", () => {
    const lo = c.sig_rtmin();
    const hi = c.sig_rtmax();
    expect(hi).toBe(64);
    for (const n of range(lo, hi)) {
      expect(signalName(n, lo)).toBe(n === lo ? "SIGRTMIN" : `SIGRTMIN+${n - lo}`);
      if (c.is_glibc() === 1 && lo === 34) expect(String(c.sig_description(n))).toBe(`Real-time signal ${n - lo}`);
    }
  });

  test("numbers with no name read SIG<n>", () => {
    expect([0, 65, 100, 128, -1].map((n) => signalName(n, 34))).toEqual(["SIG0", "SIG65", "SIG100", "SIG128", "SIG-1"]);
  });

  test("a non-integer signal or a bad rtmin throws RangeError", () => {
    expect(() => signalName(9.5)).toThrow(RangeError);
    expect(() => signalName(9, 31)).toThrow(RangeError);
    expect(() => signalName(9, 34.5)).toThrow(RangeError);
  });
});

describe("signalNumber", () => {
  test("is the inverse of signalName over 1..64 for rtmin 34 and 35", () => {
    for (const rtmin of [34, 35]) {
      const back = range(1, 64).map((n) => signalNumber(signalName(n, rtmin), rtmin));
      expect(back).toEqual(range(1, 64));
    }
  });

  test("standard names and aliases", () => {
    expect(signalNumber("SIGINT")).toBe(2);
    expect(signalNumber("SIGTERM")).toBe(15);
    expect(signalNumber("SIGKILL")).toBe(9);
    expect(signalNumber("SIGSYS")).toBe(31);
    expect(signalNumber("SIGIOT")).toBe(6);
    expect(signalNumber("SIGCLD")).toBe(17);
    expect(signalNumber("SIGPOLL")).toBe(29);
  });

  test("real-time names follow rtmin", () => {
    expect(signalNumber("SIGRTMIN", 34)).toBe(34);
    expect(signalNumber("SIGRTMIN", 35)).toBe(35);
    expect(signalNumber("SIGRTMIN+1", 34)).toBe(35);
    expect(signalNumber("SIGRTMIN+30", 34)).toBe(64);
    expect(signalNumber("SIGRTMIN+30", 35)).toBeUndefined();
    expect(signalNumber("SIGRTMIN+29", 35)).toBe(64);
    expect(signalNumber("SIG34", 35)).toBe(34);
    expect(signalNumber("SIG34", 34)).toBeUndefined();
  });

  test("anything else is undefined", () => {
    const bad = ["", "sigterm", "TERM", "SIGTERM ", "SIG9", "SIG0", "SIG65", "SIG032", "SIGRTMIN+0", "SIGRTMIN+", "SIGRTMIN-1", "SIGRTMAX", "SIGFOO", "toString", "__proto__"];
    expect(bad.map((name) => signalNumber(name, 34))).toEqual(bad.map(() => undefined));
    expect(signalNumber("SIG32", 34)).toBe(32);
    expect(signalNumber("SIG33", 34)).toBe(33);
  });
});

describe("describeStatus", () => {
  test("reads like Rust's ExitStatus", () => {
    expect(describeStatus(0)).toBe("exit code 0");
    expect(describeStatus(3 << 8)).toBe("exit code 3");
    expect(describeStatus(0xff00)).toBe("exit code 255");
    expect(describeStatus(0x8b)).toBe("signal 11 (SIGSEGV) (core dumped)");
    expect(describeStatus(9)).toBe("signal 9 (SIGKILL)");
    expect(describeStatus(15)).toBe("signal 15 (SIGTERM)");
    expect(describeStatus(0x86)).toBe("signal 6 (SIGABRT) (core dumped)");
    expect(describeStatus(32)).toBe("signal 32");
    expect(describeStatus(34)).toBe("signal 34 (SIGRTMIN)");
    expect(describeStatus(40)).toBe("signal 40 (SIGRTMIN+6)");
    expect(describeStatus(40, 35)).toBe("signal 40 (SIGRTMIN+5)");
    expect(describeStatus(34, 35)).toBe("signal 34");
    expect(describeStatus(126)).toBe("signal 126");
    expect(describeStatus(0x137f)).toBe("stopped by signal 19 (SIGSTOP)");
    expect(describeStatus(0x147f)).toBe("stopped by signal 20 (SIGTSTP)");
    expect(describeStatus(0x7f)).toBe("stopped by signal 0");
    expect(describeStatus(0xffff)).toBe("continued");
    expect(describeStatus(0xff)).toBe("unrecognised wait status 255 (0xff)");
    expect(describeStatus(-1)).toBe("unrecognised wait status -1 (0xffffffff)");
  });
});

describe("default rtmin", () => {
  test("starts at 34, can be set, and rejects impossible values", () => {
    expect(getDefaultRtmin()).toBe(34);
    expect(signalName(34)).toBe("SIGRTMIN");
    try {
      setDefaultRtmin(35);
      expect(getDefaultRtmin()).toBe(35);
      expect(signalName(34)).toBe("SIG34");
      expect(signalName(35)).toBe("SIGRTMIN");
      expect(signalNumber("SIGRTMIN")).toBe(35);
      expect(decodeStatus(36)).toEqual({ kind: "signaled", signo: 36, signal: "SIGRTMIN+1", coreDumped: false });
      expect(describeStatus(34)).toBe("signal 34");
      for (const bad of [31, 65, 34.5, Number.NaN]) expect(() => setDefaultRtmin(bad)).toThrow(RangeError);
      expect(getDefaultRtmin()).toBe(35);
    } finally {
      setDefaultRtmin(34);
    }
    expect(signalName(34)).toBe("SIGRTMIN");
  });
});

describe("libc.ts", () => {
  test("sigrtmin() equals the C library's SIGRTMIN", async () => {
    const { sigrtmin } = await import("../../src/sys/signal.ts");
    const fromC = c.sig_rtmin();
    expect(fromC === 34 || fromC === 35).toBe(true);
    expect(sigrtmin()).toBe(fromC);
  });
});
