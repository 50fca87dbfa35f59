// bun:sqlite connections inherited by a snapshot child: read-only there. Depends on bun:sqlite's
// JS surface (Database.prototype methods, a connection's `handle` and `filename`).
//
// Connections opened before the snapshot refuse writes in the child with SQLite's own error
// ("attempt to write a readonly database", SQLITE_READONLY): on first use of each, the child sets
// PRAGMA query_only. Connections opened in the child are left alone (their handles are newer
// than any the parent had). Below that, the child's isolation reopens the database file itself
// read-only, so a statement prepared before the snapshot cannot write either.

/** In the child: every connection opened before the snapshot becomes query-only on first use. */
export function protectDatabases(): void {
  const { Database } = require("bun:sqlite") as typeof import("bun:sqlite");
  const probe = new Database(":memory:");
  const firstChildHandle = (probe as unknown as { handle: number }).handle;
  probe.close();
  const proto = Database.prototype as unknown as Record<string, Function>;
  const exec = proto["exec"]!;
  const seen = new WeakSet<object>();
  for (const method of ["run", "exec", "query", "prepare", "transaction"]) {
    const original = proto[method];
    if (typeof original !== "function") continue;
    proto[method] = function (this: { handle: number; filename: string }, ...args: unknown[]) {
      if (!seen.has(this)) {
        seen.add(this);
        if (this.handle < firstChildHandle && this.filename !== ":memory:" && this.filename !== "") exec.call(this, "PRAGMA query_only = ON");
      }
      return original.apply(this, args);
    };
  }
}
