// `import "bun-snapshot/attach"`, `bun --preload bun-snapshot/attach app.ts`: this process can be
// attached to (`bun-snapshot attach <pid>`). Also exports expose() for the values to put in scope.
import { messages } from "../errors.ts";
import { trackWorkers } from "../bun-internals/workers.ts";
import { expose, listenForAttach } from "./server.ts";

trackWorkers();

try {
  listenForAttach();
} catch (e) {
  // The app runs on without it: attaching is a convenience, never a reason to stop.
  console.error(messages.attachUnavailable(process.pid, e instanceof Error ? e.message : String(e)));
}
export { expose };
