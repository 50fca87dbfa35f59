// An SQLite database open before a snapshot is read-only in the child in every journal mode:
// statements prepared before the snapshot (each way of running one) and after it are refused
// with SQLITE_READONLY, and nothing reaches the parent's file (in WAL mode a prepared statement
// used to write through the -wal descriptor). A database the child cannot reopen refuses every
// statement, reads too, and the child says why once on stderr.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { BEFORE_1_4, lines, runFixture, WITHOUT_DAC } from "../helpers.ts";

setDefaultTimeout(60_000);

const WRITES = ["prepared.run", "prepared.get", "prepared.all", "prepared.values", "prepared.iterate", "query.run", "db.run", "db.exec", "after.run", "transaction"];
const untouched = ["parent parent-1,parent-2 ok", "fresh parent-1,parent-2"];
// Bun 1.2/1.3's raw statement has no \`readonly\` (sqlite3_stmt_readonly): a statement prepared
// before the snapshot cannot be told to only read, so it is refused too (src/bun-internals/sqlite.ts).
const PREPARED_SELECT = BEFORE_1_4 ? "select SQLITE_READONLY" : "select 1";

describe("a database open before the snapshot, in the child", () => {
  for (const mode of ["wal", "delete", "truncate", "persist", "memory"]) {
    test(`journal_mode ${mode}: every write refused (SQLITE_READONLY), reads work (1.4), the parent's file unchanged`, async () => {
      const r = await runFixture("sqlite-modes.ts", [mode]);
      expect(r.timedOut).toBe(false);
      expect(lines(r.stdout)).toEqual([...WRITES.map((w) => `${w} SQLITE_READONLY`), PREPARED_SELECT, ...untouched]);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
    });
  }

  for (const mode of ["wal", "delete"]) {
    test(`journal_mode ${mode}, the file unreadable to the child: every statement refused, reads too; said once`, async () => {
      const r = await runFixture("sqlite-modes.ts", [mode, "unreadable"], { wrap: WITHOUT_DAC });
      expect(r.timedOut).toBe(false);
      expect(lines(r.stdout)).toEqual([...WRITES.map((w) => `${w} SQLITE_READONLY`), "select SQLITE_READONLY", ...untouched]);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^bun-snapshot: this snapshot child could not make an inherited descriptor its own \(fd \d+ .*db\.sqlite: open\(\) failed: EACCES\)/);
      expect(r.exitCode).toBe(0);
    });
  }
});
