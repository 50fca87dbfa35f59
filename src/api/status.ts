// decodeStatus of the contract: the pure decoder, with real-time signal names following this
// libc's SIGRTMIN (34 on glibc, 35 on musl).
import { decodeStatus as decode, type WaitStatus } from "../status.ts";
import { useLibcRtmin } from "../sys/signal.ts";

/**
 * Decodes a raw wait status word as glibc's W* macros do, for every 16-bit value: exited (with
 * its code), signaled (with the signal's number, name and whether a core was dumped), stopped,
 * or continued.
 */
export function decodeStatus(status: number): WaitStatus {
  if (process.platform === "linux") useLibcRtmin();
  return decode(status);
}
