// What `node` gets for `import "bun-snapshot"` (the "node" export condition): bun-snapshot forks
// a running Bun process through bun:ffi, which Node does not have.
throw new Error("bun-snapshot runs on Bun only (https://bun.sh): start this program with `bun`, not `node`");
