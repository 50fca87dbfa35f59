// Issue 3: every API on Bun's helper threads (work pool, HTTP client) works in a snapshot child
// of a process that used it, or fails fast and says why; the parent is never touched.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_HTTP_ON_HTTP_THREAD } from "../../src/bun-internals/fallback.ts";
import { INSTEAD } from "../../src/errors.ts";
import { lines, runFixture } from "../helpers.ts";

// Each scenario bounds itself (test/helpers.ts); bun test's own limit (per file) sits above.
setDefaultTimeout(60_000);

// What each API gives in the fixture (test/fixtures/runtime-apis.ts) when it works.
const WORKS: Record<string, string> = {
  "fetch-http": 'ok "hello"',
  "node-http": 'ok "hello"',
  "fetch-https": 'ok "secure"',
  "file-text": "ok 1000",
  "fs-promises-named": "ok 2000",
  "fs-promises-namespace": "ok 1000",
  "fs-promises-default": "ok true",
  "fs-callback-named": "ok 1000",
  "fs-callback-namespace": "ok 1000",
  "fs-callback-default": "ok 1000",
  "crypto-subtle": 'ok "541b3e9d"',
  "bun-dns": 'ok "127.0.0.1"',
  "dns-lookup": 'ok "127.0.0.1 127.0.0.1"',
  "zlib-async": "ok 1000",
  "bun-password": "ok true",
  "import": "ok true",
  "serve-file": "ok 1000",
  "sqlite": "ok 42",
  "worker": "ok 1000",
  "spawn": 'ok "spawned"',
};

// A self-signed certificate for the https server, when openssl is there.
const OPENSSL = Bun.which("openssl");
let tlsDir = "";
const tlsEnv = (): Record<string, string> => (tlsDir ? { TLS_KEY: join(tlsDir, "key.pem"), TLS_CERT: join(tlsDir, "cert.pem") } : {});
beforeAll(() => {
  if (!OPENSSL) {
    console.warn("runtime.test.ts: no openssl on PATH, fetch over https is not tested");
    return;
  }
  tlsDir = mkdtempSync(join(tmpdir(), "snap-tls-"));
  const r = Bun.spawnSync([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { cwd: tlsDir, stderr: "pipe" });
  if (r.exitCode !== 0) {
    console.warn(`runtime.test.ts: openssl failed (${r.stderr.toString().trim()}), fetch over https is not tested`);
    tlsDir = "";
  }
});
afterAll(() => {
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});
const apis = () => Object.keys(WORKS).filter((a) => a !== "fetch-https" || tlsDir);

describe("each API, warm in the parent, works in a child", () => {
  for (const api of Object.keys(WORKS)) {
    test(api, async () => {
      if (api === "fetch-https" && !tlsDir) return; // reason printed by beforeAll
      const r = await runFixture("runtime-apis.ts", [api, api], { env: tlsEnv(), timeoutMs: 15_000 });
      expect(lines(r.stdout)).toEqual([`${api} ${WORKS[api]}`, "parent ok"]);
      expect(r.exitCode).toBe(0);
    });
  }
});

describe("a process that used them all", () => {
  test("its child uses each in turn; the parent still uses each after resume", async () => {
    const r = await runFixture("runtime-apis.ts", ["all", "all"], { env: tlsEnv(), timeoutMs: 30_000 });
    expect(lines(r.stdout)).toEqual([...apis().map((a) => `${a} ${WORKS[a]}`), "parent ok"]);
    expect(r.exitCode).toBe(0);
  });

  test("nested: a child that used them all itself has children that use each (depth 2)", async () => {
    const r = await runFixture("runtime-apis.ts", ["all", "all", "nested"], { env: tlsEnv(), timeoutMs: 30_000 });
    expect(lines(r.stdout)).toEqual([...apis().map((a) => `depth 2 ${a} ${WORKS[a]}`), "parent ok"]);
    expect(r.exitCode).toBe(0);
  });

  test("the repair runs in every child, found once per process; a cold HTTP thread is left alone", async () => {
    const warm = await runFixture("runtime-apis.ts", ["all", "none", "report"], { env: tlsEnv() });
    expect(lines(warm.stdout)).toEqual(["report 0 pool repaired http repaired agents true", "report 1 pool repaired http repaired agents true", "parent ok"]);
    const cold = await runFixture("runtime-apis.ts", ["file-text", "none", "report"]);
    expect(lines(cold.stdout)).toEqual(["report 0 pool repaired http cold agents false", "report 1 pool repaired http cold agents false", "parent ok"]);
    const [first, second] = lines(cold.stderr).map((l) => Number(/^scan ([\d.]+) ms/.exec(l)![1]));
    expect(first).toBeGreaterThan(0);
    expect(second).toBe(0);
  });
});

describe("node:http keep-alive", () => {
  for (const agent of ["global", "agent"]) {
    test(`a child never reuses the parent's pooled connection (${agent === "global" ? "http.globalAgent" : "an own keep-alive Agent"}); the parent keeps its own`, async () => {
      const r = await runFixture("runtime-keepalive.ts", [agent]);
      expect(lines(r.stdout)).toEqual(["parent conn 1", "child conn 2", "parent conn 1"]);
      expect(r.exitCode).toBe(0);
    });
  }
});

describe("when the repair cannot be used (BUN_SNAPSHOT_REPAIR=0), nothing hangs silently", () => {
  const why = "could not be restarted (repair disabled by BUN_SNAPSHOT_REPAIR=0)";
  const pool = (api: string, instead: string) =>
    `fail SnapshotError: ${api} is unavailable inside a snapshot: it runs on Bun's work pool ("Bun Pool" threads), which ran in the parent, does not exist in the child and ${why}; ${instead}`;
  const http = (api: string) =>
    `fail SnapshotError: ${api} is unavailable inside a snapshot: it runs on Bun's HTTP client thread ("HTTP Client"), which ran in the parent, does not exist in the child and ${why}; ${NODE_HTTP_ON_HTTP_THREAD ? INSTEAD.fetchZig : INSTEAD.fetch}`;

  test("globals and default imports fail at once with a SnapshotError naming the API, why, and what to use instead", async () => {
    const tries = ["fetch-http", "node-http", "file-text", "fs-promises-default", "fs-callback-default", "crypto-subtle", "bun-dns", "bun-password", "sqlite", "spawn"];
    const r = await runFixture("runtime-apis.ts", ["all", tries.join(",")], { env: { BUN_SNAPSHOT_REPAIR: "0" } });
    expect(lines(r.stdout)).toEqual([
      `fetch-http ${http("fetch()")}`,
      // Before Bun 1.4 node:http's client runs on the HTTP thread too (it is built on fetch).
      NODE_HTTP_ON_HTTP_THREAD ? `node-http ${http("http.get()")}` : 'node-http ok "hello"',
      `file-text ${pool("Bun.file().text()", "read it with readFileSync(), or stream it with Bun.file(path).stream()")}`,
      `fs-promises-default ${pool("fs.promises.readdir()", "use the synchronous fs functions (readFileSync, statSync, ...)")}`,
      `fs-callback-default ${pool("fs.readFile()", "use the synchronous fs functions (readFileSync, statSync, ...)")}`,
      `crypto-subtle ${pool("crypto.subtle.digest()", "use node:crypto (createHash, createHmac, createCipheriv, ...)")}`,
      `bun-dns ${pool("Bun.dns.lookup()", "use an IP address, or look the name up before the snapshot")}`,
      `bun-password ${pool("Bun.password.hash()", "use Bun.password.hashSync / verifySync")}`,
      "sqlite ok 42",
      'spawn ok "spawned"',
      "parent ok",
    ]);
  });

  test("named imports and import(): the pool watch ends the child within 2 s with the reason on stderr", async () => {
    const tries = ["fs-promises-named", "fs-callback-namespace", "import"];
    const t0 = performance.now();
    const r = await runFixture("runtime-apis.ts", ["all", tries.join(",")], { env: { BUN_SNAPSHOT_REPAIR: "0" } });
    expect(performance.now() - t0).toBeLessThan(3 * 2000 + 2000);
    const watch =
      'SnapshotError: an API that ran on the work pool (async fs, Bun.file() reads, crypto.subtle, dns lookups, async zlib, Bun.password, import() of a new file) is unavailable inside a snapshot: it runs on Bun\'s work pool ("Bun Pool" threads), which ran in the parent, does not exist in the child and ' +
      `${why}; use the synchronous forms (readFileSync, gzipSync, Bun.password.hashSync, require(), ...) in a snapshot`;
    // The watch's error ends the trial (its result says why). An async trial's function runs in
    // Bun's nested (macro) event loop, whose module loader reads a new file without the pool:
    // import() works there.
    expect(lines(r.stdout)).toEqual([`fs-promises-named fail ${watch}`, `fs-callback-namespace fail ${watch}`, "import ok true", "parent ok"]);
    expect(r.stderr.split(watch).length - 1).toBe(2);
  });
});

describe("a proof the child's own check refuses (BUN_SNAPSHOT_MUTATE_PROOF): nothing written, the API fails fast", () => {
  // The native fork checks in C, the JavaScript steps in JS: the same checks, the same words.
  for (const native of ["1", "0"]) {
    test(`the pool's, then the HTTP thread's (BUN_SNAPSHOT_NATIVE=${native})`, async () => {
      const pool = await runFixture("runtime-apis.ts", ["all", "file-text,fetch-http"], { env: { BUN_SNAPSHOT_MUTATE_PROOF: "pool", BUN_SNAPSHOT_NATIVE: native } });
      const p = lines(pool.stdout);
      expect(p[0]).toStartWith("file-text fail SnapshotError: Bun.file().text() is unavailable inside a snapshot");
      expect(p[0]).toContain("(the pool's configuration changed)");
      expect(p.slice(1)).toEqual(['fetch-http ok "hello"', "parent ok"]);
      const http = await runFixture("runtime-apis.ts", ["all", "file-text,fetch-http"], { env: { BUN_SNAPSHOT_MUTATE_PROOF: "http", BUN_SNAPSHOT_NATIVE: native } });
      const h = lines(http.stdout);
      expect(h[0]).toBe("file-text ok 1000");
      expect(h[1]).toStartWith("fetch-http fail SnapshotError: fetch() is unavailable inside a snapshot");
      // Bun 1.4 (Rust statics): the handle no longer matches; 1.2/1.3 (a Zig once): the start flag read one word off.
      expect(h[1]).toMatch(/\((the HTTP thread's handle changed|the HTTP thread was being started at the fork \(lock \d+\)|the HTTP thread's start flag holds \d+)\)/);
      expect(h[2]).toBe("parent ok");
    });
  }
});
