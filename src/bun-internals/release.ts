// The Bun releases this package was run on, and what differs between their lines: the Zig
// runtime of 1.2 and 1.3, the Rust one of 1.4. The layouts of Bun's private state (this folder)
// were read from these revisions and proven by the whole test suite on each (README.md here).

/** Releases whose layouts are known: version -> upstream revision (`bun --revision`, short). */
export const KNOWN_RELEASES: Readonly<Record<string, string>> = {
  "1.4.5": "a7733435c",
  "1.3.14": "0d9b296af",
  "1.2.23": "cf1367137",
};

/** Whether this Bun is a release whose layouts are known (its version and revision both match). */
export function releaseKnown(version: string = Bun.version, revision: string = Bun.revision): boolean {
  const known = KNOWN_RELEASES[version];
  return known !== undefined && revision.startsWith(known);
}

const [MAJOR, MINOR] = Bun.version.split(".").map(Number) as [number, number];

/**
 * Bun 1.2 or 1.3 (Zig): node:repl has no start(), an unref()'d Unix listener is closed on the
 * next turn of the loop, node:http's client runs on the HTTP thread (it is built on fetch), and
 * that thread starts behind a Zig once (http-zig.ts). Measured on 1.2.23 and 1.3.14.
 */
export const ZIG_LINE = MAJOR === 1 && MINOR < 4;
