// `bun --preload bun-snapshot/safe` or bunfig.toml `preload = ["bun-snapshot/safe"]`: restarts
// the process snapshot-safe before any user code has run.
import { trackWorkers } from "../bun-internals/workers.ts";
import { ensureSafe } from "./mode.ts";

ensureSafe();
trackWorkers();
