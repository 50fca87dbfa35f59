// Re-executing this process with other environment, as plain `bun` would have been started:
// the descriptors it inherited kept, and a failure that leaves the process running.
//
// Bun marks every descriptor from 4 up close-on-exec as it starts (close_range(4, ~0,
// CLOSE_RANGE_CLOEXEC), seen with strace on 1.4.5), so an execve from JS would close what the
// process inherited (`7>file`, socket activation, a supervisor's pipe): those come back without
// the flag first. Bun's own descriptors at that point are its event loop's (anon inodes: epoll,
// eventfd, ...) and keep it. A descriptor that was close-on-exec when this process was started
// was closed by that exec, so everything else open now was meant to be inherited.
import { messages, SnapshotError } from "../errors.ts";
import { listFds } from "../proc/fds.ts";
import { fdFlags, O_CLOEXEC, setCloseOnExec } from "../sys/fd.ts";
import { execve } from "../sys/process.ts";

const KEY = Symbol.for("bun-snapshot.reexec-failed.v1");

/** Why re-executing this process snapshot-safe failed, when it did (then it is not snapshot-safe). */
export function reexecFailure(): string | undefined {
  return (globalThis as { [KEY]?: string })[KEY];
}

// Descriptors this process inherited that Bun made close-on-exec.
function inheritedCloseOnExec(): number[] {
  const out: number[] = [];
  for (const { fd, link } of listFds()) {
    if (fd < 3 || link.startsWith("anon_inode:")) continue;
    try {
      if (fdFlags(fd) & O_CLOEXEC) out.push(fd);
    } catch {}
  }
  return out;
}

/**
 * execve with the inherited descriptors kept. When execve fails, puts their flags back, says so
 * in one line on stderr, records why (snapshots then refuse with EUNSAFE saying it) and returns.
 */
export function reexec(path: string, argv: string[], env: string[]): void {
  const fds = inheritedCloseOnExec();
  for (const fd of fds) setCloseOnExec(fd, false);
  try {
    execve(path, argv, env);
  } catch (e) {
    for (const fd of fds) setCloseOnExec(fd, true);
    const code = e instanceof SnapshotError ? e.code : String(e);
    (globalThis as { [KEY]?: string })[KEY] = messages.reexecReason(code);
    process.stderr.write(messages.reexecFailed(code) + "\n");
  }
}
