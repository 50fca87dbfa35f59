// Keeping Bun's view of the process right in the child.
import { getpid } from "../libc.ts";

/** process.pid is cached on first read; make the child report its own. */
export function fixIdentity(): void {
  (process as { pid: number }).pid = getpid();
}
