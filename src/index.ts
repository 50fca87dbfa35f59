// bun-snapshot: process snapshots for Bun. The public face: the contract of API.md, nothing else.
export { decodeStatus } from "./api/status.ts";
export { commit, depth, fork, inSnapshot, lastOutcome, revert, revertTo, rootOnly, snapshot, snapshots } from "./api/snapshot.ts";
export { trial, type TrialResult } from "./api/trial.ts";
export { SnapshotError, type SnapshotErrorCode } from "./errors.ts";
export type { DetachedChild } from "./fork/detached.ts";
export type { Fork } from "./fork/fork.ts";
export type { SnapshotInfo } from "./fork/lineage.ts";
export type { Outcome } from "./fork/outcome.ts";
export type { IsolationOptions, SnapshotOptions, TrialOptions } from "./options.ts";
export type { WaitStatus } from "./status.ts";
