// The steps of a snapshot, in the order they run (see step.ts for what each hook means). A
// blocking snapshot: check, identity, signals, terminal, channel, lineage, exit, isolate,
// runtime, forkable, epoll, quiesce; a trial adds its "said" pipe after the channel. A detached
// one: check, identity, terminal, exit pipe, hand-over, lineage, exit, isolate, runtime,
// forkable, epoll, quiesce. The forkable memory, the epoll registrations and quiescence come
// last, right before the fork, so that nothing made before is left out of them; quiescence is
// the very last (what runs before it can wake a helper), and redoes the other two if it waited.
import { prepareRuntime, repairRuntime } from "../bun-internals/runtime.ts";
import { pendingStdio } from "../bun-internals/stdio-sink.ts";
import { trackWorkers, unjoinedWorker } from "../bun-internals/workers.ts";
import { messages, SnapshotError } from "../errors.ts";
import { DEFAULT_MAX_BYTES, forwardedSignals, isolationFor, type Mode, type TrialOptions } from "../options.ts";
import { unsafeReason } from "../safe/mode.ts";
import { close, pipe } from "../sys/fd.ts";
import { getpid, getppid, kill, setParentDeathSignal, SIGKILL } from "../sys/process.ts";
import { openChannel, receive, type Message } from "./channel.ts";
import { installExitHooks } from "./exit.ts";
import { makeForkable } from "./forkable.ts";
import { keepInChild, letGo } from "./handover.ts";
import { allRegistrations, isolate, type EpollRegistration } from "./isolate.ts";
import { state, type SnapshotInfo } from "./lineage.ts";
import { quiesce, unparkHelpers } from "./quiesce.ts";
import { prepareForwarding, type Forwarding } from "./signals.ts";
import type { Step } from "./step.ts";
import { childTakesTerminal, ownGroup, parentHandsTerminal, parentTakesTerminalBack, planTerminal, type TerminalPlan } from "./terminal.ts";

/** What the steps of one snapshot share. */
export interface ForkContext {
  readonly mode: Mode;
  readonly o: TrialOptions;
  /** The new child's entry in the chain (its pid is added in the child). */
  readonly info: Omit<SnapshotInfo, "pid">;
  /** This process: the child's parent. */
  readonly parentPid: number;
  /** The child's pid, in the parent once forked. */
  pid: number;
  /** Descriptors the child keeps as they are (the channel or exit pipe, handed-over connections). */
  keep: number[];
  /** Every epoll registration of this process, read as the last thing before the fork. */
  registrations: EpollRegistration[];
  /** The channel of a waited-for child (-1 for a detached one). */
  channel: number;
  /** The read end of a detached child's exit pipe (-1 otherwise). */
  exitRead: number;
  /** A trial's pipe: the parent reads whether the function went async, the child writes (-1 otherwise). */
  said: [read: number, write: number];
  /** The terminal, when the child takes it; read by the wait for job control. */
  terminal: TerminalPlan | null;
  /** What the child said, read once it has been reaped. */
  message?: Message;
}

// BUN_SNAPSHOT_QUIESCE=0 turns the wait for idle helper threads off (for measuring it).
const QUIESCE = process.env["BUN_SNAPSHOT_QUIESCE"] !== "0";

// Refuses a process that is not snapshot-safe, output a fork would print twice or lose, and a
// terminated Worker whose thread Bun has not joined yet.
function check(c: ForkContext): Step {
  return {
    name: "check",
    prepare() {
      if (!c.o.unsafe) {
        const why = unsafeReason();
        if (why) throw new SnapshotError("EUNSAFE", messages.unsafe(why));
      }
      const busy = pendingStdio();
      if (busy) throw new SnapshotError("EBUSY", messages.stdioBusy(busy.stream, busy.bytes));
      trackWorkers();
      const worker = unjoinedWorker();
      if (worker) throw new SnapshotError("EBUSY", messages.workerUnjoined(worker));
    },
  };
}

// The child dies with its parent, even by SIGKILL (and at once if it already has), and reports
// its own pid, and its parent's: Bun caches process.pid on first read, Bun 1.2 process.ppid too
// (measured on 1.2.23: a child reported its grandparent).
function identity(c: ForkContext): Step {
  return {
    name: "identity",
    child() {
      setParentDeathSignal(SIGKILL);
      if (getppid() !== c.parentPid) kill(getpid(), SIGKILL);
      (process as { pid: number }).pid = getpid();
      if (process.ppid !== c.parentPid) {
        try {
          Object.defineProperty(process, "ppid", { value: c.parentPid, writable: true, configurable: true, enumerable: true });
        } catch {}
      }
    },
  };
}

// Signals the waiting parent receives go to the child.
function signals(c: ForkContext): Step {
  let f: Forwarding;
  return {
    name: "signals",
    prepare: () => void (f = prepareForwarding(forwardedSignals(c.o))),
    undo: () => f.end(),
    child: () => f.restoreInChild(),
    parent: () => f.attach(c.pid),
    release: () => f.end(),
    finish: () => f.end(),
  };
}

// The child's own process group, and the terminal's foreground when it should have it (never
// a trial's: its parent may run on while it works).
function terminal(c: ForkContext): Step {
  let group = true;
  return {
    name: "terminal",
    prepare() {
      if (c.mode === "detached") return; // its own group, never the terminal
      c.terminal = planTerminal(c.mode === "trial" ? false : c.o.foreground);
      group = ownGroup(c.terminal);
    },
    child: () => void (group && childTakesTerminal(c.terminal)),
    parent: () => void (group && parentHandsTerminal(c.terminal, c.pid)),
    finish: () => void (c.terminal && parentTakesTerminalBack(c.terminal)),
  };
}

// What a waited-for child tells its parent (commit, revertTo, a trial's value).
function channel(c: ForkContext): Step {
  return {
    name: "channel",
    prepare() {
      c.channel = openChannel();
      c.keep.push(c.channel);
    },
    undo: () => close(c.channel),
    finish: () => void (c.message = receive(c.channel)),
  };
}

// A trial child says on this pipe that its function went async; the parent blocks on it until
// then, or until end of file (only the child holds the write end: it ended). The parent's
// event loop reads it to the end after an async word (as a detached child's exit pipe).
function saidPipe(c: ForkContext): Step {
  return {
    name: "said",
    prepare() {
      c.said = pipe();
      c.keep.push(c.said[1]);
    },
    undo() {
      close(c.said[0]);
      close(c.said[1]);
    },
    child() {
      close(c.said[0]);
      const s = state();
      if (s.said >= 0) close(s.said); // a trial ancestor's
      s.said = c.said[1];
    },
    parent: () => close(c.said[1]),
  };
}

// A detached child holds the write end until it exits; the parent's event loop reads the other.
function exitPipe(c: ForkContext): Step {
  let write = -1;
  return {
    name: "exit-pipe",
    prepare() {
      [c.exitRead, write] = pipe();
      c.keep.push(write);
    },
    undo() {
      close(c.exitRead);
      close(write);
    },
    child: () => close(c.exitRead),
    parent: () => close(write),
  };
}

// Connections handed over to a detached child (an attach session).
function handOver(c: ForkContext, fds: number[]): Step {
  return {
    name: "handover",
    prepare: () => void c.keep.push(...fds),
    child: () => keepInChild(fds),
    parent: () => fds.forEach(letGo),
  };
}

// Who the child is: one more level in the chain, talking to its parent over the channel.
function lineage(c: ForkContext): Step {
  return {
    name: "lineage",
    child() {
      const s = state();
      if (s.toParent >= 0) close(s.toParent); // our parent's channel to its own parent
      if (c.mode !== "trial" && s.said >= 0) {
        close(s.said); // a trial ancestor's: this child is not a trial
        s.said = -1;
      }
      s.toParent = c.channel;
      s.chain.push({ ...c.info, pid: getpid() });
      s.committed = false;
      s.maxBytes = c.o.maxBytes ?? DEFAULT_MAX_BYTES;
      delete s.lastOutcome;
    },
  };
}

// How the child ends (flush and _exit, the exit listeners of the policy).
function exit(c: ForkContext): Step {
  return { name: "exit", child: () => installExitHooks(c.o.exitHandlers ?? "new") };
}

// The parent's kernel objects out of the child's reach.
function isolation(c: ForkContext): Step {
  return {
    name: "isolate",
    child: () => void isolate(isolationFor(c.mode, c.o.isolation), [...c.keep, ...state().keepFds], c.registrations, c.mode === "trial"),
  };
}

// Bun's helper threads made whole in the child, from what the parent read.
function runtime(): Step {
  let prep: ReturnType<typeof prepareRuntime>;
  return {
    name: "runtime",
    prepare: () => void (prep = prepareRuntime()),
    child: () => repairRuntime(prep),
  };
}

// Right before the fork: every mapping forkable.
function forkable(): Step {
  return { name: "forkable", prepare: () => void makeForkable() };
}

// The registrations of every epoll instance, read right before the fork: the child rebuilds its
// instances from these, never from the shared instance the parent goes on changing.
function epoll(c: ForkContext): Step {
  return { name: "epoll", prepare: () => void (c.registrations = allRegistrations()) };
}

// Last before the fork: helper threads asleep and not about to wake, Bun 1.2/1.3's scavenger
// parked until the fork is done. When it had to wait, helpers ran meanwhile (they may have
// mapped memory or changed a registration): both read again.
function quiet(c: ForkContext): Step {
  let parked = false;
  const unpark = () => {
    if (parked) unparkHelpers();
    parked = false;
  };
  return {
    name: "quiesce",
    prepare() {
      if (!QUIESCE) return;
      const q = quiesce();
      parked = q.parked;
      if (!q.waited) return;
      try {
        makeForkable();
        c.registrations = allRegistrations();
      } catch (e) {
        unpark();
        throw e;
      }
    },
    undo: unpark,
    child: unpark, // the thread is not in the child; its copy of the flags is cleared
    parent: unpark,
  };
}

/** The steps of a blocking snapshot or a trial. */
export function blockingSteps(c: ForkContext): Step[] {
  const said = c.mode === "trial" ? [saidPipe(c)] : [];
  return [check(c), identity(c), signals(c), terminal(c), channel(c), ...said, lineage(c), exit(c), isolation(c), runtime(), forkable(), epoll(c), quiet(c)];
}

/** The steps of a detached snapshot; `handed` are connections the child takes over. */
export function detachedSteps(c: ForkContext, handed: number[]): Step[] {
  return [check(c), identity(c), terminal(c), exitPipe(c), handOver(c, handed), lineage(c), exit(c), isolation(c), runtime(), forkable(), epoll(c), quiet(c)];
}
