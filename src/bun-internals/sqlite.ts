// bun:sqlite connections inherited by a snapshot child: read-only there, in every journal mode.
// Depends on bun:sqlite's JS surface: Database.prototype methods, a connection's `handle` and
// `filename`, a Statement's `native` (the raw statement whose prototype runs every statement,
// with its `readonly`, sqlite3_stmt_readonly).
//
// Two holes this closes, each measured on Bun 1.4.5:
// - A connection opened before the snapshot gets PRAGMA query_only on its first use through a
//   Database method in the child, so SQLite itself refuses its writes (SQLITE_READONLY).
// - A statement prepared before the snapshot runs without any Database method: nothing would set
//   query_only, and in WAL mode its write reached the parent's file through the -wal descriptor.
//   bun:sqlite does not say which connection such a statement belongs to, so in the child every
//   one of them that writes is refused with the same SQLITE_READONLY error (a statement the child
//   gets back from db.query()'s cache is known by its connection and left to SQLite).
// A database the child could not reopen read-only (its descriptor is a dead end) refuses every
// statement, reads too; then so does every statement prepared before the snapshot. With
// isolation databases "copy", each inherited connection's methods run on a private in-memory
// copy of its database instead (made from it on first use: serialize, then deserialize).
import { realpathSync } from "node:fs";
import { messages } from "../errors.ts";

type Db = { handle: number; filename: string };
const RAW_METHODS = ["run", "get", "all", "values", "raw", "iterate"];
const DB_METHODS = ["run", "exec", "query", "prepare", "transaction", "serialize", "fileControl", "loadExtension"];

// SQLite's own error for a write on a read-only database, as bun:sqlite throws it (an error
// named SQLiteError is an instance of bun:sqlite's SQLiteError).
function readonlyError(message: string): Error {
  return Object.assign(new Error(message), { name: "SQLiteError", code: "SQLITE_READONLY", errno: 8 });
}

// The path a database was opened with, resolved as its descriptor's link would be ("" when none).
function resolved(filename: string): string {
  try {
    return realpathSync(filename);
  } catch {
    return filename;
  }
}

/**
 * In the child: connections opened before the snapshot become query-only on first use, and
 * statements prepared before it cannot write. `unsafe` lists database files the child could not
 * reopen read-only: every statement on them is refused.
 */
export function protectDatabases(unsafe: string[] = [], copy = false): void {
  const { Database } = require("bun:sqlite") as typeof import("bun:sqlite");
  const probe = new Database(":memory:");
  const firstChildHandle = (probe as unknown as Db).handle;
  const rawProto = Object.getPrototypeOf(probe.prepare("select 1").native) as Record<string, Function>;
  probe.close();
  const refused = new Set(unsafe);
  const proto = Database.prototype as unknown as Record<PropertyKey, Function>;
  const exec = proto["exec"]!;
  const serialize = proto["serialize"]!;
  // Per connection: "free" (opened in the child, or in memory), "readonly", "copy" or "refused".
  type Policy = "free" | "readonly" | "copy" | "refused";
  const policy = new WeakMap<object, Policy>();
  // With `copy`: each inherited connection's private in-memory copy.
  const copies = new WeakMap<object, Db>();
  // Raw statements seen coming out of a Database method in the child, with their connection.
  const owner = new WeakMap<object, object>();
  const policyOf = (db: Db): Policy => {
    let p = policy.get(db);
    if (p) return p;
    const memory = db.filename === ":memory:" || db.filename === "";
    if (db.handle >= firstChildHandle || memory) p = "free";
    else if (refused.has(resolved(db.filename))) p = "refused";
    else if (copy) {
      // Read through the parent's connection (its file reopened read-only), written nowhere.
      const image = new Uint8Array(serialize.call(db) as Uint8Array);
      // A WAL database's header says so (bytes 18 and 19 are 2): in memory there is no -wal file
      // to open ("unable to open database file"), so the copy is made a rollback-journal one.
      if (image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
      copies.set(db, Database.deserialize(image) as unknown as Db);
      p = "copy";
    } else {
      exec.call(db, "PRAGMA query_only = ON");
      p = "readonly";
    }
    policy.set(db, p);
    return p;
  };
  const prepareOwned = Object.getOwnPropertySymbols(proto).find((s) => s.description === "prepareOwned");
  for (const method of [...DB_METHODS, ...(prepareOwned ? [prepareOwned] : [])]) {
    const original = proto[method];
    if (typeof original !== "function") continue;
    proto[method] = function (this: Db, ...args: unknown[]) {
      const p = policyOf(this);
      if (p === "refused") throw readonlyError(messages.databaseUnsafe(this.filename));
      const out = original.apply(p === "copy" ? copies.get(this)! : this, args);
      const raw = (out as { native?: unknown } | null)?.native;
      if (raw && typeof raw === "object") owner.set(raw, this);
      return out;
    };
  }
  for (const method of RAW_METHODS) {
    const original = rawProto[method];
    if (typeof original !== "function") continue;
    rawProto[method] = function (this: { readonly: boolean }, ...args: unknown[]) {
      const db = owner.get(this);
      if (db) {
        if (policy.get(db) === "refused") throw readonlyError(messages.databaseUnsafe((db as Db).filename));
      } else if (refused.size) throw readonlyError(messages.databaseUnsafe([...refused].join(", ")));
      // Bun 1.2/1.3's raw statement has no \`readonly\`: there every statement prepared before the
      // snapshot is refused, reads too (a write would fail with SQLITE_IOERR, not SQLITE_READONLY).
      else if (!this.readonly) throw readonlyError(messages.preparedReadonly());
      return original.apply(this, args);
    };
  }
}
