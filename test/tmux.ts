// Driving a program in a real pseudo-terminal through tmux: start it in a detached session, type
// into it, wait (with a deadline, never a fixed sleep) until the screen shows something, and
// always kill the session and whatever it left running. Works without a TTY (CI as root).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { killTree } from "./helpers.ts";

let counter = 0;

// Runs tmux with args; throws with its stderr when it fails.
function tmux(args: string[]): string {
  const r = Bun.spawnSync(["tmux", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

/** Whether tmux can be run here. */
export function haveTmux(): boolean {
  return Bun.spawnSync(["tmux", "-V"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** A program running in a detached tmux session. */
export class Tmux {
  /** The session's unique name. */
  readonly name: string;
  /** The pid of the session's first process (the command). */
  readonly pid: number;

  /** The pane's terminal (/dev/pts/N), to find processes left on it. */
  readonly tty: string;

  private constructor(name: string, pid: number, tty: string) {
    this.name = name;
    this.pid = pid;
    this.tty = tty;
  }

  /**
   * Starts `command` (a shell command line) in a new detached session of width x height, with
   * `env` added to its environment; cwd is `cwd` (default: this process's). When the command
   * ends the pane shows `EXIT=<status>` and stays open (a shell's `$?`: 128+n for signal n).
   */
  static start(command: string, o: { env?: Record<string, string>; cwd?: string; width?: number; height?: number } = {}): Tmux {
    const name = `bsnap-${process.pid}-${++counter}-${Date.now().toString(36)}`;
    const env = Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`).join(" ");
    const line = `cd ${shellQuote(o.cwd ?? process.cwd())} && ${env ? `env ${env} ` : ""}${command}; echo "EXIT=$?"; exec sleep 600`;
    const out = tmux(["new-session", "-d", "-s", name, "-x", String(o.width ?? 120), "-y", String(o.height ?? 40), "-P", "-F", "#{pane_pid} #{pane_tty}", line]);
    const [pid, tty] = out.trim().split(" ");
    return new Tmux(name, Number(pid), tty ?? "");
  }

  /** Types `text` literally, then presses Enter unless `enter` is false. */
  type(text: string, enter = true): void {
    tmux(["send-keys", "-t", this.name, "-l", text]);
    if (enter) tmux(["send-keys", "-t", this.name, "Enter"]);
  }

  /** Presses keys by tmux name: "C-c", "C-d", "Up", "Enter", ... */
  press(...keys: string[]): void {
    tmux(["send-keys", "-t", this.name, ...keys]);
  }

  /** The visible screen, lines joined with \n, trailing blank lines dropped. */
  screen(): string {
    try {
      return tmux(["capture-pane", "-p", "-J", "-t", this.name, "-S", "-"]).replace(/\s+$/, "");
    } catch (e) {
      return `(no screen: ${(e as Error).message})`;
    }
  }

  /**
   * Waits until the screen matches `re` (polling every 20 ms); past `timeoutMs` (default 10 s)
   * throws with the screen. With `from`, only the screen text from that offset on is searched.
   */
  async waitFor(re: RegExp, o: { timeoutMs?: number; from?: number } = {}): Promise<RegExpMatchArray> {
    const limit = o.timeoutMs ?? 10_000;
    const deadline = performance.now() + limit;
    let text = "";
    for (;;) {
      text = this.screen().slice(o.from ?? 0);
      const m = text.match(re);
      if (m) return m;
      if (performance.now() > deadline) break;
      await Bun.sleep(20);
    }
    throw new Error(`tmux ${this.name}: the screen did not show ${re} within ${limit} ms. Screen${o.from ? " (the part searched)" : ""}:\n${text}`);
  }

  /** The cursor's column and row in the pane. */
  cursor(): { x: number; y: number } {
    const [x, y] = tmux(["display-message", "-p", "-t", this.name, "#{cursor_x} #{cursor_y}"]).trim().split(" ").map(Number);
    return { x: x!, y: y! };
  }

  /** The pane terminal's settings as `stty -a` prints them (e.g. "-isig" while a line editor reads keys raw). */
  termios(): string {
    const r = Bun.spawnSync(["stty", "-a", "-F", this.tty], { stdout: "pipe", stderr: "pipe" });
    return r.stdout.toString();
  }

  /** Waits until `ok()` holds (polling every 20 ms); past `timeoutMs` throws saying `what`, with the screen. */
  async until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!ok()) {
      if (performance.now() > deadline) throw new Error(`tmux ${this.name}: ${what} did not happen within ${timeoutMs} ms. Screen:\n${this.screen()}`);
      await Bun.sleep(20);
    }
  }

  /** Where the cursor's line starts in screen(): what is typed next, and its output, comes after it. */
  mark(): number {
    const text = this.screen();
    return text.lastIndexOf("\n") + 1;
  }

  /** Types `text` + Enter and waits for `re` in what the screen shows from the typed line on. */
  async run(text: string, re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray> {
    const from = this.mark();
    this.type(text);
    return this.waitFor(re, { from, timeoutMs });
  }

  /** Kills the session and every process it left behind (snapshot children, orphans on its terminal). */
  kill(): void {
    killTree(this.pid);
    for (const p of onTerminal(this.tty)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {}
    }
    try {
      tmux(["kill-session", "-t", this.name]);
    } catch {}
  }
}

// The pids of the processes whose controlling terminal is `tty` (field tty_nr of /proc/PID/stat).
function onTerminal(tty: string): number[] {
  let rdev: number;
  try {
    rdev = statSync(tty).rdev;
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "latin1");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[4]) === rdev) out.push(Number(d));
    } catch {}
  }
  return out;
}

// Quotes a word for sh.
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `fn` with a session running `command`; the session is killed however fn ends. */
export async function withTmux<T>(command: string, o: Parameters<typeof Tmux.start>[1], fn: (t: Tmux) => Promise<T>): Promise<T> {
  const t = Tmux.start(command, o);
  try {
    return await fn(t);
  } finally {
    t.kill();
  }
}
