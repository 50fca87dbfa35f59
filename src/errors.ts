// SnapshotError and every message the library shows, built in one place.
import { envWords, OPTIONAL_ENV, SAFE_ENV } from "./switches.ts";

/** Linux errno numbers (asm-generic: the same on x64 and arm64) to their names. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 7: "E2BIG", 9: "EBADF", 10: "ECHILD",
  11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST",
  20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 30: "EROFS", 32: "EPIPE", 38: "ENOSYS", 40: "ELOOP",
  95: "ENOTSUP", 110: "ETIMEDOUT",
};

/** The errno-style name of an errno number, `E<n>` when it has none we know. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `E${errno}`;
}

/**
 * The codes of SnapshotError: those of API.md, and the errno name of a failed system call
 * (`EIO`, `EBADF`, ...; `E<n>` for a number without a name here).
 */
export type SnapshotErrorCode =
  | "ENOTSUP" // not Linux x64/arm64, no C library, or an API that cannot work in a snapshot child
  | "EUNSAFE" // this process is not snapshot-safe (and `unsafe: true` was not passed)
  | "EBUSY" // output is still held for a slow reader
  | "ENOTSNAPSHOT" // revert/revertTo/commit at depth 0
  | "EINVAL" // a bad argument or option
  | "EAGAIN" // fork: the process limit
  | "ENOMEM" // fork: not enough memory for the page tables
  | "EACCES" // attach: a directory, socket or peer that is not the target's
  | "ESRCH" // attach: there is no such process
  | "ENOENT" // attach: the process is not attachable (no socket)
  | "ECONNREFUSED" // attach: nobody listens on the socket
  | "ETIMEDOUT" // attach: no answer within timeoutMs (the copy was ended)
  | "EPROTO" // attach: the process answered something that is not an answer
  | (string & {});

/**
 * The one error class of bun-snapshot. `code` is errno-style (`EAGAIN`, `ENOMEM`, `ENOTSUP`,
 * `EUNSAFE`, `ENOTSNAPSHOT`, `EINVAL`, ...); `cause` holds the original error when there is one.
 */
export class SnapshotError extends Error {
  /** errno-style code saying what kind of failure this is. */
  readonly code: SnapshotErrorCode;
  /** The errno number when the failure came from a system call. */
  declare readonly errno?: number;
  /** The system call that failed, when one did. */
  declare readonly syscall?: string;

  constructor(code: SnapshotErrorCode, message: string, extra: { errno?: number; syscall?: string; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "SnapshotError";
    this.code = code;
    if (extra.errno !== undefined) this.errno = extra.errno;
    if (extra.syscall !== undefined) this.syscall = extra.syscall;
  }
}

const SAFE_WAYS =
  "start it snapshot-safe: `bunx bun-snapshot run app.ts`, or `bun --preload bun-snapshot/safe app.ts` " +
  '(or `preload = ["bun-snapshot/safe"]` in bunfig.toml, which covers `bun run` and `bun --interactive` too), or set ' +
  `${envWords(SAFE_ENV)} in its environment (the way for \`bun repl\`; ` +
  `add ${envWords(OPTIONAL_ENV)} on Bun 1.4 and later)`;

// An API on a helper thread that the child could not restart.
function helperUnavailable(api: string, helper: "pool" | "http", why: string, instead: string): string {
  return (
    `${api} is unavailable inside a snapshot: it runs on Bun's ${helper === "pool" ? 'work pool ("Bun Pool" threads)' : 'HTTP client thread ("HTTP Client")'}, ` +
    `which ran in the parent, does not exist in the child and could not be restarted (${why}); ${instead}`
  );
}

/** What to use instead of an API that cannot run in a snapshot child, by group of APIs. */
export const INSTEAD = {
  file: "read it with readFileSync(), or stream it with Bun.file(path).stream()",
  fs: "use the synchronous fs functions (readFileSync, statSync, ...)",
  subtle: "use node:crypto (createHash, createHmac, createCipheriv, ...)",
  dns: "use an IP address, or look the name up before the snapshot",
  zlib: "use the synchronous zlib functions (gzipSync, ...) or Bun.gzipSync",
  password: "use Bun.password.hashSync / verifySync",
  fetch: "use node:http / node:https, which open their own connections, or fetch before the snapshot",
  fetchZig: "make the request before the snapshot (node:http and node:https run on the same thread in Bun before 1.4)",
} as const;

/** Every message, by situation; tests assert these whole. */
export const messages = {
  notSupported: (platform: string, arch: string) =>
    `bun-snapshot needs Linux (x64 or arm64, glibc or musl) with Bun 1.3.14 or Bun 1.4.5 and newer; this is ${platform}/${arch}`,
  noLibc: (tried: string[]) =>
    `bun-snapshot could not load the C library (tried ${tried.join(", ")}); it needs glibc or musl`,
  syscall: (syscall: string, code: string) => `${syscall}() failed: ${code}`,
  forkFailed: (code: string) =>
    code === "ENOMEM"
      ? "fork() failed: ENOMEM (not enough memory to copy this process's page tables); free memory or lower the heap, then try again"
      : code === "EAGAIN"
        ? "fork() failed: EAGAIN (the process limit was reached: ulimit -u, pids cgroup or kernel.pid_max); end other processes, then try again"
        : `fork() failed: ${code}`,
  unsafe: (why: string) =>
    `this process is not snapshot-safe (${why}): a snapshot child could hang in the JavaScriptCore collector or JIT. ` +
    `To take snapshots, ${SAFE_WAYS}; or pass { unsafe: true } to take the risk`,
  notInSnapshot: (fn: string) =>
    `${fn}() needs to run inside a snapshot (depth() is 0 here, the original process); take one with snapshot() first`,
  notAncestor: (target: unknown, depth: number) =>
    `revertTo(${typeof target === "string" ? JSON.stringify(target) : String(target)}): the depth must be a whole number from 0 to ${depth - 1} (an ancestor of this snapshot at depth ${depth})`,
  attachDirUnsafe: (dir: string, uid: number, mode: number) =>
    `attach: ${dir} must be a directory of uid ${process.getuid?.()} with mode 0700 (it belongs to uid ${uid}, mode ${mode.toString(8)}); remove it or set BUN_SNAPSHOT_DIR`,
  attachRefused: (uid: number) => `attach refused: uid ${uid} may not attach to this process (only its own user may)`,
  attachNoProcess: (pid: string) => `bun-snapshot attach: there is no process ${pid}`,
  attachNotAttachable: (pid: number, path: string) =>
    `bun-snapshot attach: process ${pid} is not attachable (no socket at ${path}); start it with \`import "bun-snapshot/attach"\`, \`bun --preload bun-snapshot/attach app.ts\` or \`bun-snapshot run --attach app.ts\``,
  attachDenied: (pid: number, uid: number) =>
    `bun-snapshot attach: permission denied: process ${pid} belongs to uid ${uid}; attach as that user`,
  detachedUnwind: (fn: string) =>
    `${fn}() in a detached snapshot: its parent is not waiting for it, so there is nothing to unwind or replace; end it with revert()`,
  trialDetached: () => "trial() cannot be detached: its parent waits for the value",
  badExitCode: (code: unknown) => `revert(${String(code)}): the exit code must be a whole number from 0 to 255`,
  badOption: (name: string, value: unknown, want: string) =>
    `invalid option ${name}: ${typeof value === "number" || typeof value === "bigint" ? String(value) : (JSON.stringify(value) ?? String(value))} (expected ${want})`,
  unknownOption: (name: string, nearest: string) => `unknown option ${name} (did you mean ${nearest}?)`,
  trialOnlyOption: (name: string) => `option ${name} belongs to trial(); snapshot() and fork() do not take it`,
  injected: (step: string) => `injected failure in fork step "${step}" (BUN_SNAPSHOT_FAIL_STEP)`,
  waitNotChild: (pid: number) =>
    `waitpid(${pid}) failed: ECHILD (process ${pid} is not a child of this process, or was already reaped by someone else, e.g. a SIGCHLD handler set to SIG_IGN)`,
  unknownSignal: (signal: unknown) => `unknown signal ${String(signal)}: give a name such as "SIGTERM" or a number from 1 to 64`,
  noForwarding: (why: string) => `bun-snapshot: signals will not be forwarded to snapshot children: the C signal handler did not compile (${why})`,
  exitListenerThrew: () => "bun-snapshot: an exit listener threw in the snapshot child:",
  attachUnavailable: (pid: number, why: string) => `bun-snapshot: attach is not available in process ${pid}: ${why}`,
  attachNeedsNewerBun: (version: string) =>
    `attaching needs Bun 1.4 or later: in Bun ${version} a Unix listener that does not keep the process alive (Bun.listen(...).unref()) is closed on the next turn of the event loop`,
  replNeedsNewerBun: (version: string) =>
    `the snapshot REPL needs node:repl's start(), which Bun ${version} does not have (Bun 1.4 and later do); snapshot(), fork() and trial() work on this Bun`,
  attachRefusedLog: (uid: number, pid: number, own: number) => `bun-snapshot: refused an attach from uid ${uid} (pid ${pid}): only uid ${own} may attach`,
  attachBadRequest: () => "bad request: the first line must be JSON",
  attachDirRelative: (value: string) =>
    `BUN_SNAPSHOT_DIR must be an absolute path (it is ${JSON.stringify(value)}); unset it to use /tmp/bun-snapshot-<uid>`,
  attachDirNotTheirs: (dir: string, found: number, pid: number, uid: number) =>
    `bun-snapshot attach: refused: the socket directory ${dir} belongs to uid ${found}, not to uid ${uid} of process ${pid} (someone else may be listening in its name); nothing was sent`,
  attachDirOpen: (dir: string, mode: number) =>
    `bun-snapshot attach: refused: the socket directory ${dir} is writable by others (mode ${mode.toString(8)}), so anyone may have put the socket there; nothing was sent`,
  attachDirNotDir: (dir: string, what: string) => `bun-snapshot attach: refused: ${dir} is ${what}, not a directory; nothing was sent`,
  attachSocketOdd: (path: string, what: string) => `bun-snapshot attach: refused: ${path} is ${what}, not a socket; nothing was sent`,
  attachSocketNotTheirs: (path: string, found: number, pid: number, uid: number) =>
    `bun-snapshot attach: refused: the socket ${path} belongs to uid ${found}, not to uid ${uid} of process ${pid}; nothing was sent`,
  attachPeerMismatch: (path: string, peerPid: number, peerUid: number, pid: number, uid: number) =>
    `bun-snapshot attach: refused: the process listening on ${path} is pid ${peerPid} (uid ${peerUid}), not process ${pid} (uid ${uid}); nothing was sent`,
  attachStale: (pid: number, path: string) =>
    `bun-snapshot attach: process ${pid} is not attachable: nobody listens on ${path} (left by an earlier process with this pid; removed)`,
  attachNoProcessStale: (pid: number, path: string) => `bun-snapshot attach: there is no process ${pid} (removed its stale socket ${path})`,
  attachTimeout: (ms: number) => `bun-snapshot attach: no answer within ${ms} ms; the copy was ended`,
  attachBadAnswer: (what: string) => `bun-snapshot attach: the process answered something that is not an answer: ${what}`,
  attachLineTooLong: (max: number) => `attach refused: the request line is longer than ${max} bytes`,
  attachFirstLineLate: (ms: number) => `attach refused: no request line within ${ms} ms`,
  attachTooManyConnections: (max: number) => `attach refused: ${max} attach connections are open already; try again later`,
  attachTooManySessions: (max: number) => `attach refused: ${max} attach sessions are running already (each is a copy of the process); end one, then try again`,
  attachNotSafe: (pid: number, why: string) =>
    `bun-snapshot: attach will not work in process ${pid}: this process is not snapshot-safe (${why}); ` +
    "start it with `bunx bun-snapshot run --attach app.ts`, or `bun --preload bun-snapshot/safe --preload bun-snapshot/attach app.ts`",
  attachAnnounce: (pid: number) => `bun-snapshot: attachable as pid ${pid} (bun-snapshot attach ${pid})`,
  attachUsage: () => "usage: bun-snapshot attach <pid> [--eval <code>] [--timeout <ms>] [--json]",
  attachCannotConnect: (path: string, code: string) => `bun-snapshot attach: cannot connect to ${path}: ${code}`,
  attachNoAnswer: () => "bun-snapshot attach: the process closed the connection without an answer",
  poolStuck: (why: string) =>
    helperUnavailable(
      "an API that ran on the work pool (async fs, Bun.file() reads, crypto.subtle, dns lookups, async zlib, Bun.password, import() of a new file)",
      "pool",
      why,
      "use the synchronous forms (readFileSync, gzipSync, Bun.password.hashSync, require(), ...) in a snapshot",
    ),
  badTrialFn: (value: unknown) => `trial(fn): fn must be a function, got ${value === null ? "null" : typeof value}`,
  workerUnjoined: (which: string) =>
    `${which} was terminated and Bun has not joined its thread yet (its "close" event has not fired): a snapshot now would ` +
    `leave its child a join on a thread that does not exist there (it aborts or hangs). Wait for the Worker to close first, e.g. ` +
    '`await new Promise((r) => worker.addEventListener("close", r))` after `worker.terminate()`, then take the snapshot',
  stdioBusy: (stream: string, bytes?: number) =>
    `${stream} still holds output its reader has not taken yet (${bytes === undefined ? "a slow pipe" : `${bytes} bytes written while its reader took nothing for ${Number(process.env["BUN_SNAPSHOT_STDIO_WAIT_MS"]) || 10_000} ms`}); a snapshot now would print it twice or lose it. ` +
    `Wait for it to drain first, e.g. \`await new Promise((r) => ${stream}.once("drain", r))\`, then take the snapshot`,
  trialThrew: () => "the trial function threw",
  trialUncloneable: (detail: string) => `the trial's value could not be sent back by structured clone: ${detail}`,
  trialNoValue: (how: string) => `the trial child ended (${how}) before its function returned a value`,
  trialNeverSettled: () =>
    "the trial's promise never settled: the child's event loop ran out of work with the promise still pending",
  reexecReason: (code: string) =>
    `restarting it with the switches failed (execve: ${code}${code === "E2BIG" ? ", its environment and arguments are too large to add them" : ""})`,
  reexecFailed: (code: string) =>
    `bun-snapshot: could not restart this process snapshot-safe (execve: ${code}${code === "E2BIG" ? ", its environment and arguments are too large to add the switches" : ""}); ` +
    "it runs on as it was started, and snapshots in it refuse (EUNSAFE)",
  trialTooLarge: (size: number, max: number) =>
    `the trial's value takes ${size} bytes serialized, over the limit of ${max} bytes (option maxBytes); return less, or raise maxBytes`,
  trialNoLoop: (version: string) =>
    `this Bun (${version}) cannot run a trial child's event loop without returning to the caller, so an async trial cannot run here; make the function synchronous, or use Bun 1.4.5, the release this was proven on`,
  trialTimeout: (ms: number) => `the trial did not finish within ${ms} ms; its child was killed (SIGKILL)`,
  historyRefused: (path: string, why: string) =>
    `bun-snapshot repl: BUN_SNAPSHOT_REPL_HISTORY=${path} not used (${why}); this session's history is kept in memory`,
  preparedReadonly: () =>
    "attempt to write a readonly database: in a snapshot child, a statement prepared before the snapshot cannot write " +
    '(databases open before it are read-only there; pass isolation: { databases: "writable" } to let the child write to them)',
  databaseUnsafe: (file: string) =>
    `bun-snapshot: the snapshot child could not make the database ${file} its own (its file could not be reopened read-only), ` +
    'so every statement on it is refused here; pass isolation: { databases: "writable", files: "shared" } to share it with the parent instead',
  isolationFailed: (what: string[]) =>
    `bun-snapshot: this snapshot child could not make ${what.length === 1 ? "an inherited descriptor" : `${what.length} inherited descriptors`} its own ` +
    `(${what.join("; ")}); ${what.length === 1 ? "it is" : "they are"} closed off here (reads end, writes fail), so nothing reaches the parent's files. ` +
    'Pass isolation: { files: "shared" } to use the parent\'s instead',
  helperUnavailable,
} as const;

/** A SnapshotError for a failed system call, with errno and syscall set. */
export function syscallError(syscall: string, errno: number, message?: string): SnapshotError {
  const code = errnoName(errno);
  return new SnapshotError(code, message ?? messages.syscall(syscall, code), { errno, syscall });
}
