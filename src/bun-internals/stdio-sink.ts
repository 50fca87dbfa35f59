// process.stdout and process.stderr as Bun implements them: writes to a pipe that is full are
// kept in a native FileSink and written later by the event loop, which a fork would duplicate.

type Sink = { flush(): number | Promise<unknown> };

// The FileSink behind a Bun stdio stream, if it has one (pipes and files; TTYs write directly).
function sinkOf(stream: NodeJS.WriteStream): Sink | undefined {
  const key = Object.getOwnPropertySymbols(stream).find((s) => s.description === "kWriteStreamFastPath");
  const sink = key && (stream as unknown as Record<symbol, unknown>)[key];
  return sink && typeof sink === "object" && typeof (sink as Sink).flush === "function" ? (sink as Sink) : undefined;
}

/** The name of the first stdio stream still holding output its reader has not taken, or null. */
export function pendingStdio(): string | null {
  for (const [name, stream] of [["process.stdout", process.stdout], ["process.stderr", process.stderr]] as const) {
    const sink = sinkOf(stream);
    if (sink && typeof sink.flush() !== "number") return name;
  }
  return null;
}

/** Writes what stdout and stderr hold now, as far as the descriptors take it without waiting. */
export function flushStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    try {
      sinkOf(stream)?.flush();
    } catch {}
  }
}
