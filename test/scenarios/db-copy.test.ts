// A what-if for databases: isolation { databases: "copy" } gives a trial a private in-memory copy
// of each bun:sqlite database open before it; nothing it does reaches the file.
import { expect, test } from "bun:test";
import { ended, lines, runFixture } from "../helpers.ts";

for (const mode of ["wal", "delete"]) {
  test(`journal mode ${mode}: a migration, a transaction, deletes and a drizzle-orm query in the copy; the file unchanged`, async () => {
    const run = await runFixture("db-copy.ts", [mode]);
    ended(run);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout)).toEqual([
      'trial {"rows":{"n":2},"rich":[{"name":"bob","balance":80}],"cols":["id","name","balance","email"]}',
      'parent [{"name":"ada","balance":100},{"name":"bob","balance":50},{"name":"eve","balance":7}] id,name,balance',
      'fresh [{"name":"ada","balance":100},{"name":"bob","balance":50},{"name":"eve","balance":7}]',
      'drizzle in parent [{"balance":50}]',
    ]);
  });
}
