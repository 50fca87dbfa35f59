// `bun-snapshot attach <pid> [--eval <expression>]`: the client of src/attach.ts.
import { existsSync, readFileSync } from "node:fs";
import { socketPath } from "../attach/paths.ts";
import { messages, SnapshotError } from "../errors.ts";

// The uid a process runs as, from /proc; undefined when there is no such process.
function uidOf(pid: number): number | undefined {
  try {
    return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))![1]);
  } catch {
    return undefined;
  }
}

/** Runs the attach command; resolves with the exit status. */
export async function runAttach(args: string[]): Promise<number> {
  const [pidArg, flag, expr] = args;
  const pid = Number(pidArg);
  if (!pidArg || !Number.isInteger(pid) || pid <= 0 || (flag !== undefined && (flag !== "--eval" || expr === undefined))) {
    process.stderr.write(`${messages.attachUsage()}\n`);
    return 2;
  }
  const uid = uidOf(pid);
  if (uid === undefined) {
    process.stderr.write(`${messages.attachNoProcess(pidArg)}\n`);
    return 2;
  }
  const path = socketPath(pid, uid);
  let exists = false;
  try {
    exists = existsSync(path);
  } catch {}
  if (!exists) {
    process.stderr.write(`${uid !== process.getuid!() && process.getuid!() !== 0 ? messages.attachDenied(pid, uid) : messages.attachNotAttachable(pid, path)}\n`);
    return 2;
  }
  return flag === "--eval" ? evalOnce(path, pid, uid, expr!) : interactive(path, pid, uid);
}

// Connects, or says why not.
async function connect(path: string, pid: number, uid: number, onData: (d: Buffer) => void, onClose: () => void) {
  try {
    return await Bun.connect({ unix: path, socket: { data: (_s, d) => onData(Buffer.from(d)), close: onClose, error: onClose } });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SnapshotError(code === "EACCES" || code === "EPERM" ? "EACCES" : "ECONNREFUSED", code === "EACCES" || code === "EPERM" ? messages.attachDenied(pid, uid) : messages.attachCannotConnect(path, String(code ?? e)));
  }
}

// --eval: one expression evaluated in a copy of the process; prints its value.
async function evalOnce(path: string, pid: number, uid: number, expr: string): Promise<number> {
  let text = "";
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  let s;
  try {
    s = await connect(path, pid, uid, (d) => (text += d.toString()), () => done());
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  s.write(`${JSON.stringify({ mode: "eval", expr })}\n`);
  await closed;
  const line = text.split("\n").find((l) => l.trim());
  if (!line) {
    process.stderr.write(`${messages.attachNoAnswer()}\n`);
    return 1;
  }
  const answer = JSON.parse(line) as { ok: boolean; value?: string; error?: string };
  if (answer.ok) process.stdout.write(`${answer.value}\n`);
  else process.stderr.write(`${answer.error}\n`);
  return answer.ok ? 0 : 1;
}

// A REPL in a copy of the process: keystrokes go there, its output comes here.
async function interactive(path: string, pid: number, uid: number): Promise<number> {
  const tty = process.stdin.isTTY === true;
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  let s;
  try {
    s = await connect(path, pid, uid, (d) => process.stdout.write(d), () => done());
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  s.write(`${JSON.stringify({ mode: "repl", terminal: tty, columns: process.stdout.columns })}\n`);
  if (tty) process.stdin.setRawMode(true);
  const onInput = (d: Buffer) => s.write(d);
  process.stdin.on("data", onInput);
  process.stdin.on("end", () => s.end());
  await closed;
  if (tty) process.stdin.setRawMode(false);
  process.stdin.off("data", onInput);
  process.stdin.pause();
  return 0;
}
