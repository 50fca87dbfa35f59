// The checks of `bun-snapshot doctor`: each Bun API, the local servers and files the checks use,
// and how each is warmed up in this process and tried in a snapshot child.
import { Database } from "bun:sqlite";
import { lookup as dnsLookup } from "node:dns";
import { readFile as readFileCb, readFileSync, writeFileSync } from "node:fs";
import { readFile as readFileP } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { gunzipSync, gzip } from "node:zlib";
import { inSnapshot } from "../../api/snapshot.ts";

export const TIMEOUT_MS = 3000;
export const BODY = "bun-snapshot doctor file body\n";

// One API to check: `fn` runs once in this process (the warm-up), then in a trial child.
export interface Check {
  api: string;
  fn: () => unknown;
  expect: (v: unknown) => boolean;
  note?: string;
  /** Why the check cannot run on this machine; set during the set-up. */
  skip?: string;
}

// What the set-up made: a temp dir, the local servers, the things a long-running server keeps.
export interface Env {
  dir: string;
  httpPort: number;
  httpsPort: number | null;
  noHttps?: string;
  cleanup: (() => void)[];
}

// A local server process for the fetch and node:http checks: the client is measured alone, not
// also the child's ability to answer its own request (this process is blocked in trial()).
const SERVER_SRC = `
const dir = process.argv[2];
const tls = process.argv[3] === "tls";
const answer = () => new Response("ok");
const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: answer });
const https = tls ? Bun.serve({ hostname: "127.0.0.1", port: 0, tls: { key: Bun.file(dir + "/k"), cert: Bun.file(dir + "/c") }, fetch: answer }) : null;
console.log(JSON.stringify({ http: http.port, https: https ? https.port : null }));
for await (const _ of Bun.stdin.stream()) {}
process.exit(0);
`;

// Makes a self-signed certificate in `dir` (k, c); returns why not when it cannot.
function makeCert(dir: string): string | undefined {
  const openssl = Bun.which("openssl");
  if (!openssl) return "skipped (no openssl)";
  const r = Bun.spawnSync([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "k"), "-out", join(dir, "c"), "-days", "1", "-subj", "/CN=localhost"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) return `skipped (openssl failed: ${r.stderr.toString().trim().split("\n")[0]})`;
  return undefined;
}

// Starts the server process and waits for the ports it printed.
export async function startServers(env: Env): Promise<void> {
  env.noHttps = makeCert(env.dir);
  const script = join(env.dir, "server.ts");
  writeFileSync(script, SERVER_SRC);
  const proc = Bun.spawn([process.execPath, script, env.dir, env.noHttps ? "" : "tls"], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  env.cleanup.push(() => proc.kill("SIGKILL"));
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  reader.releaseLock();
  const ports = JSON.parse(text.split("\n")[0] || "null") as { http: number; https: number | null } | null;
  if (!ports) throw new Error("bun-snapshot doctor: the local test server did not start");
  env.httpPort = ports.http;
  env.httpsPort = ports.https;
}

// GET / over a raw TCP connection (Bun.connect), not fetch: the response body.
function rawGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
        data: (_s, d) => void (buf += d.toString()),
        close: () => resolve(buf.slice(buf.indexOf("\r\n\r\n") + 4)),
        error: (_s, e) => reject(e),
        connectError: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
}

// A new Bun.serve whose answer is a file body, asked once over raw TCP, then stopped.
async function serveFile(file: string): Promise<string> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(Bun.file(file)) });
  try {
    return await rawGet(server.port!);
  } finally {
    server.stop(true);
  }
}

// One Worker round trip: 21 in, 42 back.
// In the original process the answer waits for the Worker's "close": Bun joins a terminated
// Worker's thread later, from the event loop, and a snapshot taken before that join leaves the
// child a stale join on a recycled thread (it aborts or hangs). In a snapshot child "close" never
// comes (terminate() does not finish there), so the child does not wait for it.
export function workerRoundTrip(script: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(script);
    w.onmessage = (e) => {
      if (inSnapshot()) resolve(e.data);
      else w.addEventListener("close", () => resolve(e.data));
      w.terminate();
    };
    w.onerror = (e) => {
      reject(new Error(e.message));
      w.terminate();
    };
    w.postMessage(21);
  });
}

// The checks, in the order of the report.
export function checks(env: Env): Check[] {
  const file = join(env.dir, "data.txt");
  writeFileSync(file, BODY);
  const kib = new Uint8Array(1024).map((_, i) => i & 0xff);
  const kibHash = new Bun.CryptoHasher("sha256").update(kib).digest("hex");
  const worker = join(env.dir, "worker.ts");
  writeFileSync(worker, "self.onmessage = (e) => postMessage(e.data * 2);\n");
  let modules = 0;
  const httpUrl = `http://127.0.0.1:${env.httpPort}/`;
  const isOk = (v: unknown) => v === "ok";
  const isBody = (v: unknown) => v === BODY;
  return [
    { api: "fetch (http)", fn: () => fetch(httpUrl).then((r) => r.text()), expect: isOk },
    {
      api: "fetch (https)",
      fn: () => fetch(`https://127.0.0.1:${env.httpsPort}/`, { tls: { rejectUnauthorized: false } }).then((r) => r.text()),
      expect: isOk,
      note: "self-signed certificate, rejectUnauthorized: false",
      ...(env.noHttps ? { skip: env.noHttps } : {}),
    },
    { api: "Bun.file().text()", fn: () => Bun.file(file).text(), expect: isBody },
    { api: "fs.promises.readFile", fn: () => readFileP(file, "utf8"), expect: isBody },
    {
      api: "fs.readFile (callback)",
      fn: () => new Promise((res, rej) => readFileCb(file, "utf8", (e, s) => (e ? rej(e) : res(s)))),
      expect: isBody,
    },
    {
      api: "crypto.subtle.digest (1 KiB)",
      fn: () => crypto.subtle.digest("SHA-256", kib).then((b) => Buffer.from(b).toString("hex")),
      expect: (v) => v === kibHash,
    },
    {
      api: "Bun.dns.lookup",
      fn: () => Bun.dns.lookup("localhost").then((a) => a.map((x) => x.address)),
      expect: (v) => Array.isArray(v) && v.length > 0,
    },
    {
      api: "dns.lookup (callback)",
      fn: () => new Promise((res, rej) => dnsLookup("localhost", (e, address) => (e ? rej(e) : res(address)))),
      expect: (v) => typeof v === "string" && v.length > 0,
    },
    {
      api: "zlib.gzip (callback)",
      fn: () => new Promise((res, rej) => gzip(BODY, (e, z) => (e ? rej(e) : res(gunzipSync(z).toString())))),
      expect: isBody,
    },
    {
      api: "Bun.password.hash",
      fn: () => Bun.password.hash("doctor", { algorithm: "bcrypt", cost: 4 }),
      expect: (v) => typeof v === "string" && v.startsWith("$2"),
      note: "bcrypt, cost 4",
    },
    {
      api: "import() of a new file",
      fn: () => {
        const path = join(env.dir, `mod-${process.pid}-${++modules}-${Math.random().toString(36).slice(2)}.ts`);
        writeFileSync(path, "export const answer: number = 42;\n");
        return import(path).then((m: { answer: number }) => m.answer);
      },
      expect: (v) => v === 42,
    },
    {
      api: "node:http get",
      fn: () =>
        new Promise((res, rej) => {
          httpGet(httpUrl, { agent: false }, (r) => {
            let s = "";
            r.setEncoding("utf8");
            r.on("data", (d: string) => (s += d));
            r.on("end", () => res(s));
            r.on("error", rej);
          }).on("error", rej);
        }),
      expect: isOk,
      // With the default agent a child reuses the parent's idle keep-alive socket, and the
      // result depends on its state (the server may have closed it: EPIPE): not a stable check.
      note: "a new connection (agent: false)",
    },
    {
      api: "Bun.serve (file body)",
      fn: () => serveFile(file),
      expect: isBody,
      note: "a new server answering new Response(Bun.file()), asked over raw Bun.connect (not fetch, which may hang)",
    },
    {
      api: "bun:sqlite",
      fn: () => {
        const db = new Database(":memory:");
        const row = db.query("select 6 * 7 as x").get() as { x: number };
        db.close();
        return row.x;
      },
      expect: (v) => v === 42,
    },
    { api: "Worker", fn: () => workerRoundTrip(worker), expect: (v) => v === 42, note: "a new Worker, one postMessage round trip" },
    {
      api: "Bun.spawn",
      fn: () => {
        const p = Bun.spawn(["echo", "doctor"], { stdout: "pipe", stderr: "ignore" });
        return new Response(p.stdout).text();
      },
      expect: (v) => v === "doctor\n",
    },
    {
      api: "Bun.write + readFileSync",
      fn: async () => {
        const path = join(env.dir, `write-${process.pid}.txt`);
        await Bun.write(path, BODY);
        return readFileSync(path, "utf8");
      },
      expect: isBody,
    },
    { api: "setTimeout", fn: () => new Promise((res) => setTimeout(() => res("tick"), 10)), expect: (v) => v === "tick" },
    {
      api: "Bun.gc(true)",
      fn: () => {
        let junk: object[] = [];
        for (let i = 0; i < 200_000; i++) junk.push({ i });
        junk = [];
        Bun.gc(true);
        return junk.length === 0;
      },
      expect: (v) => v === true,
      note: "after 200k allocations",
    },
  ];
}
