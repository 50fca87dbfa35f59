// `import "bun-snapshot/attach"`, `bun --preload bun-snapshot/attach app.ts`: this process can be
// attached to (`bun-snapshot attach <pid>`). Also exports expose() for the values to put in scope.
// A process that is not snapshot-safe says so at start, once, and does not listen (every attach
// would fail); `bun-snapshot run --attach` asks for its pid to be printed (once, on stderr).
import { messages } from "../errors.ts";
import { trackWorkers } from "../bun-internals/workers.ts";
import { unsafeReason } from "../safe/mode.ts";
import { expose, listenForAttach } from "./server.ts";

const ANNOUNCE = "BUN_SNAPSHOT_ANNOUNCE_PID";

trackWorkers();

const unsafe = process.platform === "linux" ? unsafeReason() : null;
if (unsafe !== null) console.error(messages.attachNotSafe(process.pid, unsafe));
else {
  try {
    listenForAttach();
    if (process.env[ANNOUNCE] === "1") console.error(messages.attachAnnounce(process.pid));
  } catch (e) {
    // The app runs on without it: attaching is a convenience, never a reason to stop.
    console.error(messages.attachUnavailable(process.pid, e instanceof Error ? e.message : String(e)));
  }
}
// Its own children (a `bun` it spawns) do not announce themselves.
delete process.env[ANNOUNCE];
export { expose };
