// `bun-snapshot ps`: this user's attachable processes, one per line: pid, age, command line.
// Sockets of processes that are gone are removed on the way.
import { readdirSync } from "node:fs";
import { removeStaleSocket } from "../attach/connect.ts";
import { socketDir } from "../attach/paths.ts";
import { stripControls } from "../attach/client.ts";
import { listeningSocketPaths, processInfo } from "../proc/process.ts";
import { getuid } from "../sys/process.ts";
import { EXIT, parse } from "./args.ts";

export const PS_USAGE = `Usage: bun-snapshot ps [options]

This user's attachable processes (bun-snapshot attach <pid>), one per line: pid, age, command line.
Sockets left by processes that are gone are removed.

Options:
  -h, --help    this text
`;

/** An age in words a person reads at a glance: 42s, 7m05s, 3h12m, 2d04h. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** The attachable processes of this user: pid, age (ms) and command line, by pid. */
export function attachable(): { pid: number; ageMs: number; command: string }[] {
  const dir = socketDir();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {}
  const out = [];
  const listening = listeningSocketPaths();
  for (const name of names) {
    const m = /^([1-9]\d*)\.sock$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const info = processInfo(pid);
    // Gone, or the pid now names another process (nobody listens): a stale socket.
    if (!info || info.uid !== getuid() || !listening.has(`${dir}/${name}`)) {
      removeStaleSocket(`${dir}/${name}`);
      continue;
    }
    out.push({ pid, ageMs: Date.now() - info.startedAt, command: stripControls(info.argv.join(" ")) });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** Runs `ps`; returns the exit status. */
export function runPs(args: string[]): number {
  const p = parse(args, { help: { type: "boolean", short: "h" } });
  if ("error" in p || p.positionals.length) {
    process.stderr.write(`bun-snapshot ps: ${"error" in p ? p.error : `unexpected ${p.positionals.join(" ")}`}\n${PS_USAGE}`);
    return EXIT.usage;
  }
  if (p.values.help) {
    process.stdout.write(PS_USAGE);
    return EXIT.done;
  }
  for (const r of attachable()) process.stdout.write(`${r.pid}\t${formatAge(r.ageMs)}\t${r.command}\n`);
  return EXIT.done;
}
