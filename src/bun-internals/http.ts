// Bun's HTTP client thread in the child, and node:http's pooled connections.
//
// fetch runs on one "HTTP Client" thread, started once per process behind a Rust `Once`
// (INIT_ONCE in src/http/HTTPThread.rs; futex Once: 3 = INCOMPLETE, 0 = COMPLETE). In the child
// the Once says COMPLETE for a thread that does not exist, so requests are queued to nobody.
// The repair sets the child's copy back to INCOMPLETE: the next fetch builds fresh HTTP state
// (its own event loop, connection pools) and starts a new thread. The parent's pooled
// connections stay in the abandoned state, never read nor written.
//
// The Once is found without symbols: the thread's JoinHandle is a static OnceLock whose pthread_t
// is the descriptor of the running "HTTP Client" thread (its kernel tid inside); the word after
// it is that OnceLock's own Once, and the next static is INIT_ONCE. Both Onces are proven by
// value: 3 (INCOMPLETE) in the executable file's initial data, 0 (COMPLETE) in memory. The
// pthread_t proven at the first snapshot is what descendants check against (the thread is gone
// there, the slot still holds it).
//
// Requests in flight on the parent's HTTP thread at the fork never complete in the child.
import { mappingOf } from "../proc/maps.ts";
import type { Memory } from "../sys/mem.ts";
import { descriptorTidOffset, type ProcessImage } from "./image.ts";

/** What was proven about the HTTP thread's statics. */
export interface HttpProof {
  /** Address of the JoinHandle's pthread_t in the OnceLock holding it. */
  slot: number;
  /** The pthread_t value proven there. */
  pthread: number;
  /** Address of INIT_ONCE. */
  once: number;
}

const INCOMPLETE = 3;
const COMPLETE = 0;

/**
 * Looks for INIT_ONCE in the executable's writable data, given the tid of the running "HTTP
 * Client" thread. Returns the proof when exactly one place fits, else the reason. Reads only.
 */
export function findHttpOnce(img: ProcessImage, tid: number): HttpProof | string {
  const off = descriptorTidOffset(img);
  if (typeof off === "string") return off;
  const found: HttpProof[] = [];
  for (const [lo, hi] of img.data) {
    const u32 = new Uint32Array(img.mem.view(lo, hi - lo));
    for (let i = 0; i + 5 < u32.length; i += 2) {
      const high = u32[i + 1]!;
      const low = u32[i]!;
      // A user-space pointer (below 2^48), 16-aligned, then a COMPLETE Once (and padding).
      if (high === 0 || high > 0xffff || (low & 15) !== 0 || u32[i + 2] !== COMPLETE || u32[i + 3] !== 0) continue;
      const p = high * 2 ** 32 + low;
      if (!mappingOf(img.maps, p + off, 4, true) || img.mem.peek32(p + off) !== tid) continue;
      const slot = lo + i * 4;
      const proof = { slot, pthread: p, once: slot + 16 };
      if (u32[i + 4] === COMPLETE && img.initial(slot + 8) === INCOMPLETE && img.initial(proof.once) === INCOMPLETE) found.push(proof);
    }
  }
  if (found.length !== 1) return `${found.length} places in Bun's memory look like its HTTP thread's start flag, exactly 1 is needed`;
  return found[0]!;
}

/**
 * Checks the proof against memory: "complete" (the thread was started), "incomplete" (never
 * started here: nothing to repair), or why it no longer holds.
 */
export function checkHttpOnce(img: ProcessImage, h: HttpProof): "complete" | "incomplete" | string {
  if (!mappingOf(img.maps, h.slot, 24, true)) return HTTP_WHY[1]!(0);
  if (img.mem.peek64(h.slot) !== h.pthread || img.mem.peek32(h.slot + 8) !== COMPLETE) return HTTP_WHY[2]!(0);
  const v = img.mem.peek32(h.once);
  if (v === COMPLETE) return "complete";
  if (v === INCOMPLETE) return "incomplete";
  return HTTP_WHY[3]!(v);
}

/**
 * Why the HTTP thread cannot be repaired, by the code the native fork's checks return
 * (src/sys/fork-c.ts check_http_rust 1-3, check_http_zig 4-6, the same checks as here and in
 * http-zig.ts); `v` is the value read.
 */
export const HTTP_WHY: Record<number, (v: number) => string> = {
  1: () => "the HTTP thread's statics are not mapped",
  2: () => "the HTTP thread's handle changed",
  3: (v) => `the HTTP thread was being started at the fork (state ${v})`,
  4: () => "the HTTP thread's start flag is not mapped",
  5: (v) => `the HTTP thread was being started at the fork (lock ${v})`,
  6: (v) => `the HTTP thread's start flag holds ${v}`,
  7: () => "the child's mappings could not be read",
};

/** In the child: the next fetch starts a new HTTP thread with fresh state. */
export function resetHttpOnce(mem: Memory, h: HttpProof): void {
  mem.poke32(h.once, INCOMPLETE);
}

const PATCHED = Symbol.for("bun-snapshot.agentPatched");
const cleaned = new WeakMap<object, number>();

interface AgentLike {
  freeSockets?: Record<string, unknown[]>;
  addRequest: (...args: unknown[]) => unknown;
}

// Drops the free (idle keep-alive) sockets an agent had at the fork, once per process.
function forget(agent: AgentLike): void {
  if (cleaned.get(agent) === process.pid) return;
  cleaned.set(agent, process.pid);
  const free = agent.freeSockets;
  if (free) for (const name of Object.keys(free)) delete free[name];
}

/**
 * In the child: every node:http(s) Agent forgets the idle keep-alive sockets it inherited, the
 * first time the child uses it, so requests open new connections. The sockets are only dropped
 * from the free lists, never closed nor written (closing a TLS socket would write close_notify
 * into the parent's connection). Returns how many agents were cleaned now (the global ones).
 */
export function forgetInheritedSockets(): number {
  const http = require("node:http") as { Agent: { prototype: AgentLike & { [PATCHED]?: true } }; globalAgent: AgentLike };
  const https = require("node:https") as { globalAgent: AgentLike };
  const proto = http.Agent.prototype;
  if (!proto[PATCHED]) {
    const addRequest = proto.addRequest;
    proto.addRequest = function (this: AgentLike, ...args: unknown[]) {
      forget(this);
      return addRequest.apply(this, args);
    };
    Object.defineProperty(proto, PATCHED, { value: true });
  }
  forget(http.globalAgent);
  forget(https.globalAgent);
  return 2;
}
