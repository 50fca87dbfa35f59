// `import "bun-snapshot/attach"`, `bun --preload bun-snapshot/attach app.ts`: this process can be
// attached to (`bun-snapshot attach <pid>`). Also exports expose() for the values to put in scope.
import { expose, listenForAttach } from "./attach.ts";

try {
  listenForAttach();
} catch (e) {
  // The app runs on without it: attaching is a convenience, never a reason to stop.
  console.error(`bun-snapshot: attach is not available in process ${process.pid}: ${e instanceof Error ? e.message : e}`);
}
export { expose };
