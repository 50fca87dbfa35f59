// This process's memory: fork advice on mappings, and raw access for the Bun-internals repairs.
// Raw access is handed to those modules as a Memory value, never imported by them, so that they
// can be run on synthetic memory images in tests.
import { read, toArrayBuffer, type Pointer } from "bun:ffi";
import { syscallError } from "../errors.ts";
import { errno, libc } from "./ffi.ts";

export const MADV_DOFORK = 11;

/** madvise(2); returns the errno (0 on success) rather than throwing. */
export function madvise(addr: number, len: number, advice: number): number {
  return libc().madvise(addr, len, advice) === -1 ? errno() : 0;
}

const PROT_READ = 1;
const MAP_PRIVATE = 2;

/**
 * A read-only view (no copy) of the first `len` bytes of the file at `fd` (mmap), and the
 * function that unmaps it. The view must not be touched once unmapped; the mapping outlives a
 * close of `fd`.
 */
export function mapFile(fd: number, len: number): { bytes: Uint8Array; unmap(): void } {
  const addr = Number(libc().mmap(0, len, PROT_READ, MAP_PRIVATE, fd, 0));
  if (addr === -1) throw syscallError("mmap", errno());
  let mapped = true;
  return {
    bytes: new Uint8Array(toArrayBuffer(addr as Pointer, 0, len)),
    unmap() {
      if (mapped) libc().munmap(addr, len);
      mapped = false;
    },
  };
}

/** Reads and writes words of a memory; the caller must know each address is mapped (writable to write). */
export interface Memory {
  /** A live view (no copy) of `len` bytes at `addr`. */
  view(addr: number, len: number): ArrayBuffer;
  peek32(addr: number): number;
  /** The 64-bit word at `addr`, as a number (addresses fit). */
  peek64(addr: number): number;
  poke32(addr: number, value: number): void;
  poke64(addr: number, value: number): void;
}

/** This process's own memory: touching an unmapped byte kills the process. */
export const liveMemory: Memory = {
  view: (addr, len) => toArrayBuffer(addr as Pointer, 0, len),
  peek32: (addr) => read.u32(addr as Pointer, 0),
  peek64: (addr) => Number(read.u64(addr as Pointer, 0)),
  poke32: (addr, value) => {
    new Uint32Array(toArrayBuffer(addr as Pointer, 0, 4))[0] = value;
  },
  poke64: (addr, value) => {
    new BigUint64Array(toArrayBuffer(addr as Pointer, 0, 8))[0] = BigInt(value);
  },
};
