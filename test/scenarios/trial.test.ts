// trial(): a function runs in a snapshot child, its value comes back by structured clone, the
// parent's state stays untouched. Values, sizes, async functions and where trial() is called
// from, throws, crashes, uncloneable values, timeoutMs, invalid arguments, many trials, nesting.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { messages } from "../../src/errors.ts";
import { CRASH_SIGNAL, CRASH_SIGNO, ended, lines, runFixture, type Run } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const noValue = (how: string) => messages.trialNoValue(how);

describe("values come back by structured clone", () => {
  test("Map, Set, Date, BigInt, RegExp, typed arrays, ArrayBuffer, cycles, Errors, specials, unicode", async () => {
    const run = await runFixture("trial-values.ts");
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual([
      "map true true 3 a true",
      "set true true 3 true true",
      "date true true 1700000000123 2023-11-14T22:13:20.123Z",
      "bigint true bigint true true",
      "regexp true true a+(b|c)\\d giu true",
      "uint8array true true 5 0,1,127,128,255",
      "float64array true true 5 1.5 true true -Infinity true",
      "bigint64array true true 3 true true",
      "arraybuffer true true 4 9,8,7,6",
      // two views of one buffer still share it, offsets kept
      "shared-buffer true true 4 4,5,6,7 8 2",
      // self references, a shared object, a self-containing array, a Map pointing back
      "cycles true true 2 true true true true true",
      // Errors as values keep their class (standard ones), name, message and a stack
      'errors true true Error Error "plain" string true TypeError TypeError "bad thing" string true RangeError RangeError "too far" string',
      "instanceof-typeerror true true t",
      // undefined kept as an own property, null, NaN, -0, -Infinity, holes stay holes
      "specials true true true true true -Infinity 3 false",
      "undefined true true",
      "null true true",
      "nan true true",
      "negzero true true",
      // NUL, a zero-width joiner, an astral emoji and a lone surrogate survive
      "unicode true true 31 30",
      "nested true true true",
      "done",
    ]);
  });

  test("a 50 MiB Uint8Array and an array of objects with > 50 MB of JSON come back whole", async () => {
    const run = await runFixture("trial-large.ts", [], { timeoutMs: 25_000 });
    ended(run);
    // bytes: instanceof, length, same hash as the parent's own copy, child exit code
    // objects: isArray, length, JSON > 50 MB, same JSON length and hash as the parent's own copy
    expect(lines(run.stdout)).toEqual(["bytes true 52428800 true 0", "objects true 340000 true true true 0"]);
    expect(run.stderr).toMatch(/^timing bytes \d+ ms, objects \d+ ms, json \d+\n$/);
  });
});

describe("async functions", () => {
  // The caller's code never runs in a trial child: every line of these runs is the parent's ("@0").
  test("timers, microtasks only, Bun.sleep, a thenable, rejections (late, at once, non-Error); a Promise for a thenable, however fast", async () => {
    const run = await runFixture("trial-async.ts", ["kinds"]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual([
      '@0 timeout ok "timer at 1" exit=0',
      "@0 microtasks ok 4950 exit=0",
      "@0 sleep ok true exit=0",
      '@0 thenable ok "from a thenable" exit=0',
      "@0 reject-late fail RangeError: late rejection exit=0",
      "@0 reject-now fail TypeError: immediate rejection exit=0",
      `@0 reject-nonerror fail Error: ${messages.trialThrew()} a non-Error value: "a string reason" exit=0`,
      "@0 returns promise=true true sync=false true",
      "@0 end",
    ]);
  });

  test("a trial inside an async function, after an await, awaited at top level", async () => {
    const run = await runFixture("trial-async.ts", ["async-fn"]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual(['@0 async-fn ok "inside async fn at 1" exit=0', "@0 main returned true", "@0 end"]);
  });

  for (const [mode, value] of [["caller-catch", "slow value"], ["caller-micro", "micro value"]]) {
    test(`${mode}: awaited inside a caller's try/catch/finally, two calls deep: its code runs once, in the parent`, async () => {
      const run = await runFixture("trial-async.ts", [mode!]);
      ended(run);
      expect(run.stderr).toBe("");
      expect(lines(run.stdout)).toEqual([
        "@0 caller after trial()",
        "@0 caller finally",
        "@0 caller returns",
        "@0 outer finally",
        `@0 result ok "${value}" exit=0`,
        "@0 end",
      ]);
    });
  }

  test("a caller whose catch wraps every error, a main() that exits 1 on any error, a script ending in process.exit(0)", async () => {
    for (const [mode, value] of [["caller-wrap", "wrapped value"], ["caller-fatal", "fatal value"], ["caller-exit", "exit value"]]) {
      const run = await runFixture("trial-async.ts", [mode!]);
      ended(run);
      expect({ mode, stderr: run.stderr, out: lines(run.stdout) }).toEqual({ mode, stderr: "", out: [`@0 result ok "${value}" exit=0`, "@0 end"] });
    }
  });

  test("three trials at once, each in its own child, while the parent's timers run", async () => {
    const run = await runFixture("trial-async.ts", ["concurrent"]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual(["@0 values a,b,c pids 3 parent-not-child true", "@0 at-once true parent-ticked true", "@0 end"]);
  });
});

describe("thrown errors", () => {
  test("Error, TypeError, a custom class, a runtime TypeError, and non-Error values", async () => {
    const run = await runFixture("trial-throw.ts");
    ended(run);
    expect(run.stderr).toBe("");
    const threw = (v: string) => JSON.stringify(`${messages.trialThrew()} a non-Error value: ${v}`);
    // <case> <ok> <name> | <message as JSON> | <stack names the fixture> <child exit code>
    expect(lines(run.stdout)).toEqual([
      'error false Error | "plain failure" | true 0',
      'typeerror false TypeError | "expected a number, got \\"x\\"\\nsecond line" | true 0',
      `custom false ParseError | "line 3: unexpected ';' — ünïcode" | true 0`,
      `runtime false TypeError | "null is not an object (evaluating 'null.x')" | true 0`,
      `string false Error | ${threw('"just a string"')} | nostack 0`,
      `number false Error | ${threw("42")} | nostack 0`,
      `undefined false Error | ${threw("undefined")} | nostack 0`,
      `null false Error | ${threw("null")} | nostack 0`,
    ]);
  });
});

describe("children that die", () => {
  test("SIGKILL, a real SIGSEGV, process.exit(3), revert(4), process.exit(0), SIGKILL after an await", async () => {
    const run = await runFixture("trial-crash.ts");
    ended(run);
    // <case> false <name> | <message> | <exitCode> <signal> <status> <coreDumped> <new pid> <lastOutcome() equal>
    expect(lines(run.stdout)).toEqual([
      `sigkill false SnapshotError | ${noValue("signal 9 (SIGKILL)")} | null SIGKILL 9 false true true`,
      `segv false SnapshotError | ${noValue(`signal ${CRASH_SIGNO} (${CRASH_SIGNAL})`)} | null ${CRASH_SIGNAL} ${CRASH_SIGNO} false true true`,
      `exit3 false SnapshotError | ${noValue("exit code 3")} | 3 null 768 false true true`,
      `revert4 false SnapshotError | ${noValue("exit code 4")} | 4 null 1024 false true true`,
      `exit0 false SnapshotError | ${noValue("exit code 0")} | 0 null 0 false true true`,
      `async-sigkill false SnapshotError | ${noValue("signal 9 (SIGKILL)")} | null SIGKILL 9 false true true`,
      "end 0",
    ]);
    // Bun's crash handler reports the real fault (in the child) before it dies by SIGSEGV (SIGILL before Bun 1.4).
    expect(run.stderr.match(/Segmentation fault/g)?.length).toBe(1);
  });
});

describe("uncloneable values", () => {
  test("a function, a Symbol, an object holding a function, a WeakMap, a Promise inside, an async fn's value", async () => {
    const run = await runFixture("trial-uncloneable.ts");
    ended(run);
    expect(run.stderr).toBe("");
    const msg = messages.trialUncloneable("The object can not be cloned.");
    const cases = ["function", "symbol", "object-with-function", "weakmap", "nested-promise", "async-function-value"];
    expect(lines(run.stdout)).toEqual(cases.map((c) => `${c} false DataCloneError | ${msg} | 0`));
  });
});

describe("timeoutMs and invalid arguments", () => {
  let run: Run;
  let out: Map<string, string>;
  const get = async () => {
    if (!run) {
      run = await runFixture("trial-timeout.ts");
      out = new Map(lines(run.stdout).map((l) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]));
    }
    ended(run);
    expect(run.stderr).toBe("");
    return out;
  };
  // "<ok> <name> | <message> | <exitCode> <signal> <ms>" (no message when ok) -> parts.
  const timed = (line: string) => {
    const m = /^(.*?)(?: \| (.*))? \| (\S+) (\S+) (\d+)$/.exec(line)!;
    return { head: m[1], message: m[2] ?? "", exit: m[3], signal: m[4], ms: Number(m[5]) };
  };

  test("an infinite sync loop, a pending promise (busy loop), a 60 s timer: killed at 300 ms, SIGKILL, bounded", async () => {
    const o = await get();
    for (const c of ["sync-loop", "never-resolving-busy", "slow-timer"]) {
      const t = timed(o.get(c)!);
      expect({ c, ...t, ms: 0 }).toEqual({
        c,
        head: "false SnapshotError",
        message: messages.trialTimeout(300),
        exit: "null",
        signal: "SIGKILL",
        ms: 0,
      });
      expect(t.ms).toBeGreaterThanOrEqual(300);
      expect(t.ms).toBeLessThan(2000);
    }
  });

  test("a bare never-settling promise: the child sees its loop has nothing left (about 1 s, not the 10 s limit) and says the promise never settled", async () => {
    const t = timed((await get()).get("never-resolving-bare")!);
    expect([t.head, t.message, t.exit, t.signal]).toEqual(["false SnapshotError", messages.trialNeverSettled(), "0", "null"]);
    expect(t.ms).toBeLessThan(8000);
  });

  test("within the limit the value comes back", async () => {
    const o = await get();
    expect(timed(o.get("within")!)).toMatchObject({ head: 'true "in time"', message: "", exit: "0", signal: "null" });
    expect(timed(o.get("sync-within")!)).toMatchObject({ head: "true 7", message: "", exit: "0", signal: "null" });
  });

  test("timeoutMs 0, -1, \"x\", 2^31 and fn not a function: SnapshotError EINVAL, nothing forked", async () => {
    const o = await get();
    const want = "a number of milliseconds from 1 to 2147483647";
    expect(o.get("timeoutMs=0")).toBe(`SnapshotError EINVAL | invalid option timeoutMs: 0 (expected ${want}) | forked=false`);
    expect(o.get("timeoutMs=-1")).toBe(`SnapshotError EINVAL | invalid option timeoutMs: -1 (expected ${want}) | forked=false`);
    expect(o.get("timeoutMs=x")).toBe(`SnapshotError EINVAL | invalid option timeoutMs: "x" (expected ${want}) | forked=false`);
    expect(o.get("timeoutMs=2^31")).toBe(
      `SnapshotError EINVAL | invalid option timeoutMs: 2147483648 (expected ${want}) | forked=false`,
    );
    // fn is named by its type (null as "null").
    for (const [c, type] of [["string", "string"], ["undefined", "undefined"], ["null", "null"], ["number", "number"], ["object", "object"]])
      expect(o.get(`fn=${c}`)).toBe(`SnapshotError EINVAL | trial(fn): fn must be a function, got ${type} | forked=false`);
  });

  test("timeoutMs NaN and Infinity: EINVAL, and the message names the value given", async () => {
    const o = await get();
    const want = "a number of milliseconds from 1 to 2147483647";
    expect(o.get("timeoutMs=NaN")).toBe(`SnapshotError EINVAL | invalid option timeoutMs: NaN (expected ${want}) | forked=false`);
    expect(o.get("timeoutMs=Infinity")).toBe(
      `SnapshotError EINVAL | invalid option timeoutMs: Infinity (expected ${want}) | forked=false`,
    );
  });
});

describe("the parent's state is untouched", () => {
  test("an object, a global, module state, process.env, cwd, exitCode; sync, async and throwing", async () => {
    const run = await runFixture("trial-state.ts");
    ended(run);
    expect(run.stderr).toBe("");
    const untouched = "n=1 list=[1,2] map=v counter=0 global=parent new=false env=parent newenv=false cwd=true exitCode=undefined";
    expect(lines(run.stdout)).toEqual([
      "sync true sync saw n=99 counter=10 global=sync env=sync cwd=/ exit=0",
      `after-sync ${untouched} last=true`,
      "async true async saw n=99 counter=10 global=async env=async cwd=/ exit=0",
      `after-async ${untouched} last=true`,
      "throw false exit=0",
      `after-throw ${untouched} last=true`,
    ]);
  });

  // A macro call loses what reaches the app meanwhile (src/bun-internals/pump.ts): the parent never
  // makes one. With the set-up of the nested loop made in the parent after a first trial, or after
  // loading the package, ~1 in 10 of these processes lost a read on 1.3.14.
  test("the app's work in flight at the turn after loading the package or after a trial is never lost: 2 x 24 processes", async () => {
    const results: string[] = [];
    for (let i = 0; i < 24; i++) {
      const runs = await Promise.all(["import", "trial"].map((mode) => runFixture("warm-in-flight.ts", [mode])));
      for (const r of runs) results.push(`${r.exitCode} ${lines(r.stdout).join(" ")}`);
    }
    expect(results.filter((r) => r !== "0 ok")).toEqual([]);
  });
});

describe("many trials", () => {
  test("20 in a row (sync, async, throwing, rejecting, microtasks): all right, no fd growth, no child left", async () => {
    const run = await runFixture("trial-many.ts");
    ended(run);
    expect(run.stderr).toBe("");
    const out = lines(run.stdout);
    expect(out.length).toBe(3);
    expect(out[0]).toBe("results 20/20 pids 20");
    const [, before, after] = /^fds (\d+) (\d+)$/.exec(out[1]!)!;
    expect(Number(after)).toBe(Number(before));
    expect(out[2]).toBe("children []");
  });
});

describe("nesting", () => {
  test("trials inside a snapshot child (depth 1), sync and async: depth 2 inside, back at depth 1", async () => {
    const run = await runFixture("trial-nested.ts", ["in-snapshot"]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual([
      'depth 1 sync ok {"d":2} last=true',
      'depth 1 async ok {"d":2} last=true',
      "depth 0 snapshot ended 6",
    ]);
  });

  test("a sync trial inside a trial's function", async () => {
    const run = await runFixture("trial-nested.ts", ["in-trial"]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual(["outer depth 1 after 1 inner ok depth 2", "pids 3", "end 0"]);
  });

  test("an async trial inside a trial's function (returned by a sync outer, awaited in an async outer)", async () => {
    const run = await runFixture("trial-nested.ts", ["in-trial-async"]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual(["sync-outer inner ok 2", "async-outer inner ok 2", "end 0"]);
  });
});
