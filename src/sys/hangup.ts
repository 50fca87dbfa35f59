// Ending a process when the peer of a connection has gone, from a thread of its own (hangup-c.ts).
import { syscallError } from "../errors.ts";
import { compileHangupWatcher } from "./ffi.ts";

let watcher: ReturnType<typeof compileHangupWatcher> | undefined;

/** Compiles the watcher now (TinyCC, about 10 ms), so that a forked child only has to start it. */
export function prepareHangupWatch(): void {
  watcher ??= compileHangupWatcher();
}

/**
 * Starts a thread that ends this process (`_exit(0)`) as soon as the peer of socket `fd` has
 * closed it, whatever the JavaScript thread is doing. Throws when the thread cannot start.
 */
export function watchHangup(fd: number): void {
  prepareHangupWatch();
  const r = watcher!.snap_watch_hangup(fd);
  if (r !== 0) throw syscallError("pthread_create", r);
}
