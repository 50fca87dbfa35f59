// Keeping Bun's runtime whole in the child: its identity, and (issue 3) the helper threads that
// do not exist there.
import { getpid } from "../libc.ts";

/** What the parent learned before the fork that the child's repairs need. */
export interface RuntimePrep {}

/** process.pid is cached on first read; make the child report its own. */
export function fixIdentity(): void {
  (process as { pid: number }).pid = getpid();
}

/** In the parent, just before the fork: reads (never writes) what the child's repairs need. */
export function prepareRuntime(): RuntimePrep {
  return {};
}

/** In the child, before user code: makes the runtime's helper threads usable again (issue 3). */
export function repairRuntime(_prep: RuntimePrep): void {}
