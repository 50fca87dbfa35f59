// Large trial values: a bound the caller sets (maxBytes, checked in the child before sending),
// lengths carried in 64 bits on the channel, and a parent that holds one copy of a large value.
import { expect, setDefaultTimeout, test } from "bun:test";
import { messages } from "../../src/errors.ts";
import { header, HEADER, openChannel, receive, sendCommit, sendValue, takeValue } from "../../src/fork/channel.ts";
import { fork, SnapshotError, trial } from "../../src/index.ts";
import { lines, runFixture } from "../helpers.ts";

setDefaultTimeout(60_000);

test("maxBytes: a value over it gives ok:false saying so; one at it comes back; the default lets 64 MiB through", async () => {
  const r = await runFixture("trial-maxbytes.ts");
  expect(r.timedOut).toBe(false);
  const size = Number(/size (\d+)/.exec(r.stdout)![1]);
  expect(lines(r.stdout)).toEqual([
    `over false SnapshotError: ${messages.trialTooLarge(size, size - 1)} 0`,
    "at true 10000",
    `default true ${64 * 1024 * 1024}`,
    `size ${size}`,
  ]);
  expect(r.exitCode).toBe(0);
});

test("maxBytes is validated, and belongs to trial() only", () => {
  const thrown = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as SnapshotError;
    }
    throw new Error("did not throw");
  };
  for (const bad of [-1, 1.5, "1", Infinity]) {
    const e = thrown(() => trial(() => 1, { maxBytes: bad as number }));
    expect(e.code).toBe("EINVAL");
    expect(e.message).toBe(messages.badOption("maxBytes", bad, "a whole number of bytes, 0 or more"));
  }
  expect(thrown(() => fork({ maxBytes: 1 } as never)).message).toBe(messages.trialOnlyOption("maxBytes"));
});

test("channel records carry their length in 64 bits", () => {
  expect(HEADER).toBe(9);
  const h = header(86, 2 ** 32 + 5);
  expect([...h]).toEqual([86, 5, 0, 0, 0, 1, 0, 0, 0]);
  const fd = openChannel();
  sendCommit(fd);
  sendValue(fd, new Uint8Array([1, 2, 3]));
  const msg = receive(fd);
  expect(msg.commit).toBe(true);
  expect(takeValue(msg, (b) => [...b])).toEqual([1, 2, 3]);
  expect(msg.value).toBeUndefined();
});

test("a 400 MiB value grows the parent by one copy of it, not two", async () => {
  const r = await runFixture("trial-rss.ts", [], { timeoutMs: 50_000 });
  expect(r.timedOut).toBe(false);
  const [, growth, whole] = /growth (-?\d+) whole (\w+)/.exec(r.stdout)!;
  expect(whole).toBe("true");
  expect(Number(growth)).toBeLessThan(400 * 1.25);
  expect(r.exitCode).toBe(0);
});
