// bun-snapshot: process snapshots for Bun. The public face: the contract of API.md, nothing else.
export { SnapshotError } from "./errors.ts";
export type { IsolationOptions } from "./child/isolate.ts";
export type { DetachedChild } from "./detached.ts";
export type { Fork, SnapshotOptions } from "./fork.ts";
export type { SnapshotInfo } from "./lineage.ts";
export type { Outcome } from "./outcome.ts";
export { commit, depth, fork, inSnapshot, lastOutcome, revert, revertTo, rootOnly, snapshot, snapshots } from "./snapshot.ts";
export { decodeStatus, type WaitStatus } from "./status.ts";
export { trial, type TrialOptions, type TrialResult } from "./trial.ts";

// Real-time signal names follow this libc's SIGRTMIN (34 on glibc, 35 on musl).
import { sigrtmin } from "./libc.ts";
import { setDefaultRtmin } from "./status.ts";
if (process.platform === "linux") {
  try {
    setDefaultRtmin(sigrtmin());
  } catch {}
}
