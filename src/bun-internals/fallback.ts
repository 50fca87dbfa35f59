// When a helper thread cannot be restarted in the child (another Bun build, a state the repair
// refuses), the APIs that run on it fail at once with a SnapshotError instead of hanging.
//
// Reach: JS entry points can be replaced only where callers look them up at call time: globals
// (fetch, crypto.subtle, Bun.file(...) reads, Bun.password, Bun.dns), default and require()
// imports of node:fs, node:fs/promises, node:dns and node:zlib. Named and namespace ESM imports
// of those modules were bound when they were imported and still reach the original (Bun's
// syncBuiltinESMExports does not update them), as does `import()` of a new file: those still hang.
import { INSTEAD, messages, SnapshotError } from "../errors.ts";
import { ZIG_LINE } from "./release.ts";

/** Which helper thread is missing. */
export type Helper = "pool" | "http";

type Fn = (...args: unknown[]) => unknown;

/**
 * Whether node:http's client runs on the HTTP client thread: in Bun 1.2 and 1.3 it is built on
 * fetch (measured: a first http.get starts "HTTP Client" in 1.2.23 and 1.3.14, not in 1.4.5).
 */
export const NODE_HTTP_ON_HTTP_THREAD = ZIG_LINE;

function error(api: string, helper: Helper, why: string, instead: string): SnapshotError {
  return new SnapshotError("ENOTSUP", messages.helperUnavailable(api, helper, why, instead));
}

// Replaces o[name] (when it is a function) by one that rejects, throws (a synchronous call such
// as http.get), or for callback style calls back, with the error.
function stub(o: Record<string, unknown> | undefined, name: string, api: string, helper: Helper, why: string, instead: string, style: "promise" | "throw" | "callback"): void {
  if (!o || typeof o[name] !== "function") return;
  const replacement =
    style === "promise"
      ? () => Promise.reject(error(api, helper, why, instead))
      : style === "throw"
        ? () => {
            throw error(api, helper, why, instead);
          }
        : (...args: unknown[]) => {
          const cb = args[args.length - 1];
          const e = error(api, helper, why, instead);
          if (typeof cb !== "function") throw e;
          queueMicrotask(() => (cb as Fn)(e));
        };
  try {
    Object.defineProperty(o, name, { value: replacement, writable: true, configurable: true, enumerable: true });
  } catch {
    try {
      o[name] = replacement;
    } catch {}
  }
}

const FS_ASYNC = [
  "access", "appendFile", "chmod", "chown", "close", "copyFile", "cp", "exists", "fchmod", "fchown", "fdatasync",
  "fstat", "fsync", "ftruncate", "futimes", "lchmod", "lchown", "link", "lstat", "lutimes", "mkdir", "mkdtemp",
  "open", "opendir", "read", "readdir", "readFile", "readlink", "readv", "realpath", "rename", "rm", "rmdir", "stat",
  "statfs", "symlink", "truncate", "unlink", "utimes", "write", "writeFile", "writev",
];
const ZLIB_ASYNC = ["gzip", "gunzip", "deflate", "inflate", "deflateRaw", "inflateRaw", "unzip", "brotliCompress", "brotliDecompress", "zstdCompress", "zstdDecompress"];

/** In the child: the APIs on the work pool fail fast, saying why (`why`) and what to use instead. */
export function failFastPool(why: string): void {
  const fileProto = Object.getPrototypeOf(Bun.file("/")) as Record<string, unknown>;
  for (const m of ["text", "json", "arrayBuffer", "bytes", "formData"]) stub(fileProto, m, `Bun.file().${m}()`, "pool", why, INSTEAD.file, "promise");
  const fs = require("node:fs") as Record<string, unknown>;
  const fsp = require("node:fs/promises") as Record<string, unknown>;
  for (const name of Object.keys(fsp)) if (name !== "constants") stub(fsp, name, `fs.promises.${name}()`, "pool", why, INSTEAD.fs, "promise");
  for (const name of FS_ASYNC) stub(fs, name, `fs.${name}()`, "pool", why, INSTEAD.fs, "callback");
  const subtle = Object.getPrototypeOf(crypto.subtle) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(subtle)) if (name !== "constructor") stub(subtle, name, `crypto.subtle.${name}()`, "pool", why, INSTEAD.subtle, "promise");
  stub(Bun.dns as unknown as Record<string, unknown>, "lookup", "Bun.dns.lookup()", "pool", why, INSTEAD.dns, "promise");
  const dns = require("node:dns") as Record<string, unknown> & { promises?: Record<string, unknown> };
  stub(dns, "lookup", "dns.lookup()", "pool", why, INSTEAD.dns, "callback");
  stub(dns.promises, "lookup", "dns.promises.lookup()", "pool", why, INSTEAD.dns, "promise");
  stub(require("node:dns/promises") as Record<string, unknown>, "lookup", "dns.promises.lookup()", "pool", why, INSTEAD.dns, "promise");
  const zlib = require("node:zlib") as Record<string, unknown>;
  for (const name of ZLIB_ASYNC) stub(zlib, name, `zlib.${name}()`, "pool", why, INSTEAD.zlib, "callback");
  for (const name of ["hash", "verify"]) stub(Bun.password as unknown as Record<string, unknown>, name, `Bun.password.${name}()`, "pool", why, INSTEAD.password, "promise");
}

/** In the child: fetch (and before Bun 1.4 node:http(s) requests) fail fast, saying why (`why`) and what to use instead. */
export function failFastHttp(why: string): void {
  const instead = NODE_HTTP_ON_HTTP_THREAD ? INSTEAD.fetchZig : INSTEAD.fetch;
  stub(globalThis as unknown as Record<string, unknown>, "fetch", "fetch()", "http", why, instead, "promise");
  if (!NODE_HTTP_ON_HTTP_THREAD) return;
  for (const mod of ["node:http", "node:https"]) {
    const m = require(mod) as Record<string, unknown>;
    for (const name of ["request", "get"]) stub(m, name, `${mod.slice(5)}.${name}()`, "http", why, instead, "throw");
  }
}
