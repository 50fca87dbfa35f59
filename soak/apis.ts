// The warm APIs the soak's trials call: each runs on one of Bun's helper threads (the work pool,
// the HTTP client thread) or opens something of its own. Used once in the server first (warm).
import { Database } from "bun:sqlite";
import { gzip } from "node:zlib";
import { readFile as readFileNamed } from "node:fs/promises";
import * as fsp from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The APIs, by name; each resolves with a small value that says it worked. */
export function apis(dir: string, upstreamPort: number): Record<string, () => Promise<unknown>> {
  const data = join(dir, "data.txt");
  writeFileSync(data, "x".repeat(1000));
  let imports = 0;
  return {
    fetch: async () => (await fetch(`http://127.0.0.1:${upstreamPort}/`)).text(),
    "file-text": async () => (await Bun.file(data).text()).length,
    "fs-promises": async () => (await fsp.readFile(data)).length,
    "named-import": async () => (await readFileNamed(data)).length,
    "crypto-subtle": async () => (await crypto.subtle.digest("SHA-256", new Uint8Array(1000))).byteLength,
    dns: async () => (await Bun.dns.lookup("localhost", { family: 4 }))[0]!.address,
    zlib: async () => (await new Promise<Buffer>((res, rej) => gzip(Buffer.alloc(1000), (e, b) => (e ? rej(e) : res(b))))).length,
    password: async () => Bun.password.verify("pw", await Bun.password.hash("pw", { algorithm: "bcrypt", cost: 4 })),
    spawn: async () => (await new Response(Bun.spawn(["echo", "hi"]).stdout).text()).trim(),
    connect: async () =>
      new Promise((res, rej) => {
        Bun.connect({
          hostname: "127.0.0.1",
          port: upstreamPort,
          socket: { open: (s) => void (s.write("GET / HTTP/1.0\r\n\r\n"), s.flush()), data: (s) => (s.end(), res("answered")), error: (_s, e) => rej(e), connectError: (_s, e) => rej(e) },
        });
      }),
    sqlite: async () => {
      const db = new Database(":memory:");
      const v = (db.query("select 41 + 1 as v").get() as { v: number }).v;
      db.close();
      return v;
    },
    import: async () => {
      const file = join(dir, `mod-${process.pid}-${++imports}.ts`);
      writeFileSync(file, `export const v = ${imports};`);
      return ((await import(file)) as { v: number }).v === imports;
    },
  };
}
