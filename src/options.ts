// The options of snapshot(), fork() and trial(), in one table: their types, the values each
// takes, the defaults of each mode (blocking, detached, trial), and validation. Nothing else
// in the package knows an option's allowed values or defaults.
import { messages, SnapshotError } from "./errors.ts";
import { signalNumber } from "./status.ts";

/** How a snapshot child treats what it inherited (option `isolation`). */
export interface IsolationOptions {
  /** Regular files: the child gets its own offset ("own", default) or moves the parent's ("shared"). */
  files?: "own" | "shared";
  /**
   * Connected sockets and pipes: the child sees them closed and can neither read the parent's
   * incoming data nor write into its streams ("cut", default), or uses them as they are ("shared").
   */
  connections?: "cut" | "shared";
  /**
   * Listening sockets: the child may accept new connections ("accept", the default of blocking
   * snapshots) or not ("closed", the default of detached ones). A trial child never accepts, and
   * its connections are always cut, whatever this says: it answers nobody.
   */
  listeners?: "accept" | "closed";
  /**
   * bun:sqlite databases open before the snapshot: read-only in the child ("readonly", default),
   * "writable" (the child writes to the parent's files), or "copy": each connection works on a
   * private in-memory copy of its database, made on its first use in the child (SQLite's
   * serialize/deserialize), so migrations, transactions and deletes run there and nothing reaches
   * the file. Statements prepared before the snapshot that write are refused in every mode but
   * "writable".
   */
  databases?: "readonly" | "writable" | "copy";
}

/** Options of snapshot(), fork() and trial(). */
export interface SnapshotOptions {
  /** A name for this snapshot, shown by snapshots(), the REPL and tools. */
  label?: string;
  /**
   * Signals the waiting parent passes to the child (default SIGTERM, SIGHUP, SIGINT, SIGQUIT,
   * SIGUSR1, SIGUSR2). After the child ends the parent acts on those it received as it would have
   * without the snapshot, except SIGINT, which belonged to the child. `[]` forwards none.
   * SIGKILL and SIGSTOP cannot be caught, so they cannot be forwarded.
   */
  forward?: NodeJS.Signals[];
  /**
   * The child gets its own process group and the terminal's foreground, so Ctrl+C reaches only it;
   * the parent takes the terminal back, with its settings, when the child ends (default: stdin is a TTY).
   */
  foreground?: boolean;
  /** Which process "exit" listeners run as the child ends: those added in the child ("new", default) or "all". */
  exitHandlers?: "new" | "all";
  /** Fork even where a healthy child cannot be guaranteed (a process that is not snapshot-safe). */
  unsafe?: boolean;
  /** What the child does with what it inherited: files, connections, listeners, databases (see IsolationOptions). */
  isolation?: IsolationOptions;
  /**
   * Do not wait: fork() returns at once in the parent with `{ role: "parent", pid, exited, kill }`
   * while its event loop keeps running. The child does not accept connections on inherited
   * listeners unless `isolation.listeners` says "accept"; no signals are forwarded to it and it
   * never takes the terminal. It still dies with its parent.
   */
  detached?: boolean;
}

/** Options of trial(): those of snapshot() plus a time limit and a size limit. */
export interface TrialOptions extends SnapshotOptions {
  /** Past this many milliseconds (at least 1) the child is killed (SIGKILL) and the result says so. */
  timeoutMs?: number;
  /**
   * The most the value may take, serialized by structured clone, in bytes (default 1 GiB). The
   * child checks it before sending; a larger value gives `ok: false` with an error saying so.
   */
  maxBytes?: number;
}

/** The default of trial()'s maxBytes: 1 GiB. */
export const DEFAULT_MAX_BYTES = 2 ** 30;

/** Which kind of snapshot the options are for. */
export type Mode = "blocking" | "detached" | "trial";

/** The isolation a child applies, every setting decided. */
export type Isolation = Required<IsolationOptions>;

/** The values each isolation setting takes; the first is the default unless DEFAULTS says otherwise. */
const ISOLATION = {
  files: ["own", "shared"],
  connections: ["cut", "shared"],
  listeners: ["accept", "closed"],
  databases: ["readonly", "writable", "copy"],
} as const;

/** The isolation defaults of each mode. */
const DEFAULTS: Record<Mode, Isolation> = {
  blocking: { files: "own", connections: "cut", listeners: "accept", databases: "readonly" },
  detached: { files: "own", connections: "cut", listeners: "closed", databases: "readonly" },
  trial: { files: "own", connections: "cut", listeners: "closed", databases: "readonly" },
};

/** What a mode imposes whatever the options say: a trial child answers nobody. */
const FORCED: Record<Mode, Partial<Isolation>> = {
  blocking: {},
  detached: {},
  trial: { connections: "cut", listeners: "closed" },
};

/** Signals forwarded unless the options say otherwise. */
export const DEFAULT_FORWARD: readonly NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

// Signals no handler can catch, and the highest number the forwarding handler counts.
const UNCATCHABLE = new Set([9, 19]);
const MAX_FORWARDED = 64;

const SNAPSHOT_KEYS = ["label", "forward", "foreground", "exitHandlers", "unsafe", "isolation", "detached"];
const TRIAL_KEYS = [...SNAPSHOT_KEYS, "timeoutMs", "maxBytes"];

/** The known name nearest to `name` (edit distance), for "did you mean". */
export function nearest(name: string, known: readonly string[]): string {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  return [...known].sort((a, b) => dist(name, a) - dist(name, b))[0]!;
}

// Rejects a key that is not among `known`, naming the nearest known one (or, for a trial's
// option given to another call, saying so).
function knownKeys(where: string, o: object, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    if (!where && TRIAL_KEYS.includes(k)) throw new SnapshotError("EINVAL", messages.trialOnlyOption(k));
    throw new SnapshotError("EINVAL", messages.unknownOption(where ? `${where}.${k}` : k, nearest(k, known)));
  }
}

const bad = (name: string, value: unknown, want: string) => new SnapshotError("EINVAL", messages.badOption(name, value, want));

/** The options of a call that gave none: one object, read only (not a new one per snapshot). */
export const NO_OPTIONS: Readonly<TrialOptions> = Object.freeze({});

/** Rejects bad options with EINVAL before anything happens. */
export function validate(o: TrialOptions, mode: Mode): void {
  if (o === null || typeof o !== "object") throw bad("options", o, "an object");
  if (o === NO_OPTIONS) return; // none given: nothing to check
  knownKeys("", o, mode === "trial" ? TRIAL_KEYS : SNAPSHOT_KEYS);
  if (o.label !== undefined && typeof o.label !== "string") throw bad("label", o.label, "a string");
  if (o.exitHandlers !== undefined && o.exitHandlers !== "new" && o.exitHandlers !== "all") throw bad("exitHandlers", o.exitHandlers, '"new" or "all"');
  if (o.forward !== undefined && (!Array.isArray(o.forward) || o.forward.some((s) => !forwardable(s))))
    throw bad("forward", o.forward, "an array of signal names that can be caught, such as SIGTERM (not SIGKILL or SIGSTOP)");
  for (const k of ["foreground", "unsafe", "detached"] as const) if (o[k] !== undefined && typeof o[k] !== "boolean") throw bad(k, o[k], "a boolean");
  validateIsolation(o.isolation);
  if (o.timeoutMs !== undefined && !(typeof o.timeoutMs === "number" && o.timeoutMs >= 1 && o.timeoutMs <= 2 ** 31 - 1))
    throw bad("timeoutMs", o.timeoutMs, "a number of milliseconds from 1 to 2147483647");
  if (o.maxBytes !== undefined && !(Number.isSafeInteger(o.maxBytes) && o.maxBytes >= 0))
    throw bad("maxBytes", o.maxBytes, "a whole number of bytes, 0 or more");
}

// A signal the forwarding handler can take.
function forwardable(name: unknown): boolean {
  const n = typeof name === "string" ? signalNumber(name) : undefined;
  return n !== undefined && !UNCATCHABLE.has(n) && n <= MAX_FORWARDED;
}

// Rejects an isolation option that is not an object of known settings with known values.
function validateIsolation(i: unknown): void {
  if (i === undefined) return;
  if (i === null || typeof i !== "object") throw bad("isolation", i, "an object");
  knownKeys("isolation", i, Object.keys(ISOLATION));
  for (const [k, v] of Object.entries(i)) {
    const allowed = ISOLATION[k as keyof typeof ISOLATION] as readonly string[];
    if (v !== undefined && !allowed.includes(v as string)) throw bad(`isolation.${k}`, v, allowed.map((a) => JSON.stringify(a)).join(" or "));
  }
}

/** The isolation a child of `mode` applies: the mode's defaults, then what the options set, then what the mode forces. */
export function isolationFor(mode: Mode, o: IsolationOptions | undefined): Isolation {
  const out = { ...DEFAULTS[mode] };
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) (out as Record<string, string>)[k] = v;
  return { ...out, ...FORCED[mode] };
}

/** The signal numbers a blocking snapshot forwards. */
export function forwardedSignals(o: SnapshotOptions): number[] {
  return [...new Set((o.forward ?? DEFAULT_FORWARD).map((s) => signalNumber(s)!))];
}
