// bun test preload: fixtures bound themselves (test/helpers.ts); a test's own limit sits above.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
