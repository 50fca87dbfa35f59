// The steps of a snapshot, in the order they run (see step.ts for what each hook means). A
// blocking snapshot (and a trial): check, identity, signals, terminal, channel, lineage, exit,
// isolate, runtime, quiesce, forkable. A detached one: check, identity, terminal, exit pipe,
// hand-over, lineage, exit, isolate, runtime, quiesce, forkable. Quiescence and the forkable
// memory come last, right before the fork, so that nothing made before is left out of them.
import { prepareRuntime, repairRuntime } from "../bun-internals/runtime.ts";
import { pendingStdio } from "../bun-internals/stdio-sink.ts";
import { trackWorkers, unjoinedWorker } from "../bun-internals/workers.ts";
import { messages, SnapshotError } from "../errors.ts";
import { forwardedSignals, isolationFor, type Mode, type TrialOptions } from "../options.ts";
import { unsafeReason } from "../safe/mode.ts";
import { close, pipe } from "../sys/fd.ts";
import { getpid, getppid, kill, setParentDeathSignal, SIGKILL } from "../sys/process.ts";
import { openChannel, receive, type Message } from "./channel.ts";
import { installExitHooks } from "./exit.ts";
import { makeForkable } from "./forkable.ts";
import { keepInChild, letGo, registrationsOf } from "./handover.ts";
import { isolate, type EpollRegistration } from "./isolate.ts";
import { state, type SnapshotInfo } from "./lineage.ts";
import { quiesce } from "./quiesce.ts";
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
  /** Epoll registrations of handed-over connections, as the parent saw them before the fork. */
  registrations: EpollRegistration[];
  /** The channel of a waited-for child (-1 for a detached one). */
  channel: number;
  /** The read end of a detached child's exit pipe (-1 otherwise). */
  exitRead: number;
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
      if (busy) throw new SnapshotError("EBUSY", messages.stdioBusy(busy));
      trackWorkers();
      const worker = unjoinedWorker();
      if (worker) throw new SnapshotError("EBUSY", messages.workerUnjoined(worker));
    },
  };
}

// The child dies with its parent, even by SIGKILL (and at once if it already has), and reports its own pid.
function identity(c: ForkContext): Step {
  return {
    name: "identity",
    child() {
      setParentDeathSignal(SIGKILL);
      if (getppid() !== c.parentPid) kill(getpid(), SIGKILL);
      (process as { pid: number }).pid = getpid(); // cached on first read
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
    finish: () => f.end(),
  };
}

// The child's own process group, and the terminal's foreground when it should have it.
function terminal(c: ForkContext): Step {
  let group = true;
  return {
    name: "terminal",
    prepare() {
      if (c.mode === "detached") return; // its own group, never the terminal
      c.terminal = planTerminal(c.o.foreground);
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
    prepare() {
      c.registrations = fds.length ? registrationsOf(fds) : [];
      c.keep.push(...fds);
    },
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
      s.toParent = c.channel;
      s.chain.push({ ...c.info, pid: getpid() });
      s.committed = false;
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
    child: () => void isolate(isolationFor(c.mode, c.o.isolation), [...c.keep, ...state().keepFds], c.registrations),
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

// Last before the fork: helper threads asleep, every mapping forkable.
function quiet(): Step {
  return { name: "quiesce", prepare: () => void (QUIESCE && quiesce()) };
}
function forkable(): Step {
  return { name: "forkable", prepare: () => void makeForkable() };
}

/** The steps of a blocking snapshot or a trial. */
export function blockingSteps(c: ForkContext): Step[] {
  return [check(c), identity(c), signals(c), terminal(c), channel(c), lineage(c), exit(c), isolation(c), runtime(), quiet(), forkable()];
}

/** The steps of a detached snapshot; `handed` are connections the child takes over. */
export function detachedSteps(c: ForkContext, handed: number[]): Step[] {
  return [check(c), identity(c), terminal(c), exitPipe(c), handOver(c, handed), lineage(c), exit(c), isolation(c), runtime(), quiet(), forkable()];
}
