// The parent is untouched by what a child does with inherited kernel objects: the event loop,
// servers and their clients, files, TCP connections, subprocess pipes, databases. Each case runs
// in a blocking snapshot and at depth 2.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

const cases: [string, string, string[]][] = [
  ["the child stops an inherited server: the parent answers old keep-alive and fresh connections", "server-stop", ["keepalive before true", "keepalive after true", "fresh after true"]],
  ["keep-alive clients of another process during the child: every answer from the parent, no error", "keepalive-clients", ["answers 10 all-from-parent true errors false"]],
  ["inherited listener: the child accepts while the parent is frozen (default)", "listeners", ["during the child: child; after: parent"]],
  ["inherited listener with isolation.listeners 'closed': the child accepts nothing", "listeners-closed", ["during the child: none; after: parent"]],
  // The parent read 0-4; the child read 5-12 and wrote XY at 13; the parent reads 5-9 and writes P at 10.
  ["file offsets: the child reads, writes and seeks on its own offset", "file-offsets", ["parent read 56789", "file 0123456789PbcXYfghij"]],
  ["an inherited TCP connection: the child's writes never reach the peer, the peer's data reaches the parent", "tcp-client", ["pings in order true gap-free true", 'peer got "hello from parent" | got " again"']],
  ["a subprocess pipe: the parent gets every line, in order, then EOF", "subprocess-pipe", ["lines 30 in-order true eof true"]],
  ["the child's own new server answers and frees its port", "child-server", ["child answered child server; port free after true"]],
  ["a fetch started before the snapshot completes after resume; the server sees it once", "fetch-in-flight", ["fetch answer 1", "server request 1"]],
  ["an SQLite database open before the snapshot refuses the child's writes; the parent's data is unchanged", "sqlite", ["child run: refused attempt to write a readonly database", "child prepared: refused", "parent rows 1 integrity ok"]],
];

for (const depth of [1, 2]) {
  describe(`at depth ${depth}`, () => {
    for (const [name, which, want] of cases) {
      test(name, async () => {
        const r = await runFixture("isolate-cases.ts", [which, String(depth)], { timeoutMs: 30_000 });
        expect(r.timedOut).toBe(false);
        expect(lines(r.stdout)).toEqual(want);
        expect(r.exitCode).toBe(0);
      });
    }
  });
}

test("isolation.databases 'writable' lets the child write (opt-in)", async () => {
  const r = await runFixture("isolate-cases.ts", ["sqlite-writable", "1"]);
  expect(lines(r.stdout)).toEqual(["child run: wrote", "child prepared: wrote", "parent rows 1,2,3 integrity ok"]);
});

test("bad isolation options are refused with EINVAL before anything forks", async () => {
  const { fork, SnapshotError } = await import("../../src/index.ts");
  const { messages } = await import("../../src/errors.ts");
  const cases: [unknown, string][] = [
    ["x", messages.badOption("isolation", "x", "an object")],
    [{ files: "mine" }, messages.badOption("isolation.files", "mine", '"own" or "shared"')],
    [{ connections: true }, messages.badOption("isolation.connections", true, '"cut" or "shared"')],
    [{ sockets: "cut" }, messages.unknownOption("isolation.sockets", "files")],
    [{ file: "own" }, messages.unknownOption("isolation.file", "files")],
  ];
  for (const [isolation, message] of cases) {
    let err: unknown;
    try {
      fork({ isolation } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as InstanceType<typeof SnapshotError>).code).toBe("EINVAL");
    expect((err as Error).message).toBe(message);
  }
});
