// The options table: validation, the nearest known name, each mode's isolation defaults.
import { expect, test } from "bun:test";
import { messages, SnapshotError } from "../../src/errors.ts";
import { forwardedSignals, isolationFor, nearest, validate } from "../../src/options.ts";

const refused = (o: unknown, mode: "blocking" | "detached" | "trial" = "blocking") => {
  try {
    validate(o as never, mode);
  } catch (e) {
    expect(e).toBeInstanceOf(SnapshotError);
    return `${(e as SnapshotError).code} ${(e as SnapshotError).message}`;
  }
  return "accepted";
};

test("unknown keys at any level name the nearest known one; a trial's option elsewhere says whose it is", () => {
  expect(refused({ lable: "x" })).toBe(`EINVAL ${messages.unknownOption("lable", "label")}`);
  expect(refused({ forwrd: [] })).toBe(`EINVAL ${messages.unknownOption("forwrd", "forward")}`);
  expect(refused({ isolation: { conections: "cut" } })).toBe(`EINVAL ${messages.unknownOption("isolation.conections", "connections")}`);
  expect(refused({ timeout: 300 }, "trial")).toBe(`EINVAL ${messages.unknownOption("timeout", "timeoutMs")}`);
  expect(refused({ timeoutMs: 300 })).toBe(`EINVAL ${messages.trialOnlyOption("timeoutMs")}`);
  expect(nearest("Detached", ["label", "detached"])).toBe("detached");
});

test("values: types, signal names that can be caught, a time limit of at least 1 ms", () => {
  expect(refused({ timeoutMs: 1e-9 }, "trial")).toBe(`EINVAL ${messages.badOption("timeoutMs", 1e-9, "a number of milliseconds from 1 to 2147483647")}`);
  expect(refused({ timeoutMs: 1 }, "trial")).toBe("accepted");
  for (const forward of [["SIGKILL"], ["SIGSTOP"], ["SIGNOPE"], "SIGTERM"])
    expect(refused({ forward })).toStartWith("EINVAL invalid option forward");
  expect(refused({ forward: ["SIGTERM", "SIGRTMIN+30"] })).toBe("accepted");
  expect(refused(null)).toBe(`EINVAL ${messages.badOption("options", null, "an object")}`);
  expect(refused({ isolation: { databases: "copy!" } })).toBe(`EINVAL ${messages.badOption("isolation.databases", "copy!", '"readonly" or "writable" or "copy"')}`);
  expect(refused({ label: "a", forward: [], foreground: false, exitHandlers: "all", unsafe: false, isolation: {}, detached: false })).toBe("accepted");
});

test("isolation defaults by mode, then what the options set", () => {
  expect(isolationFor("blocking", undefined)).toEqual({ files: "own", connections: "cut", listeners: "accept", databases: "readonly" });
  expect(isolationFor("detached", {})).toEqual({ files: "own", connections: "cut", listeners: "closed", databases: "readonly" });
  expect(isolationFor("detached", { listeners: "accept", files: undefined })).toMatchObject({ listeners: "accept", files: "own" });
  // A trial child answers nobody, whatever the options say.
  expect(isolationFor("trial", { listeners: "accept", connections: "shared", files: "shared" })).toEqual({ files: "shared", connections: "cut", listeners: "closed", databases: "readonly" });
  expect(forwardedSignals({})).toEqual([15, 1, 2, 3, 10, 12]);
  expect(forwardedSignals({ forward: ["SIGINT", "SIGINT"] })).toEqual([2]);
});
