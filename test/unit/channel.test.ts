// The channel's records on a real memfd: what a child says and how the parent reads it.
import { expect, test } from "bun:test";
import { openChannel, receive, sendCommit, sendError, sendRevertTo, sendValue } from "../../src/fork/channel.ts";
import { writeAll } from "../../src/sys/fd.ts";

test("commit, revertTo, a value and an error come back; the last commit or revertTo wins", () => {
  const fd = openChannel();
  sendCommit(fd);
  sendRevertTo(fd, 1);
  sendValue(fd, new Uint8Array([1, 2, 3]));
  sendError(fd, { name: "TypeError", message: "x" });
  const m = receive(fd);
  expect({ ...m, value: [...m.value!] }).toEqual({ commit: false, revertTo: 1, value: [1, 2, 3], error: { name: "TypeError", message: "x" } });
  const fd2 = openChannel();
  sendRevertTo(fd2, 0);
  sendCommit(fd2);
  expect(receive(fd2)).toEqual({ commit: true });
});

test("a record cut short by a crash mid-write is dropped, the ones before it kept", () => {
  const fd = openChannel();
  sendCommit(fd);
  writeAll(fd, new Uint8Array([86, 100, 0, 0, 0, 1, 2])); // a value of 100 bytes, 2 written
  expect(receive(fd)).toEqual({ commit: true });
});
