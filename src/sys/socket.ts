// Sockets: pairs, a listener nobody can reach, peer credentials, what kind a socket is.
import { check, libc } from "./ffi.ts";
import { O_CLOEXEC } from "./fd.ts";

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_ACCEPTCONN = 30;
const SO_DOMAIN = 39;

/** A connected pair of AF_UNIX stream sockets (close-on-exec). */
export function socketPair(): [number, number] {
  const sv = new Int32Array(2);
  check("socketpair", libc().socketpair(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0, sv));
  return [sv[0]!, sv[1]!];
}

/**
 * A listening AF_UNIX socket on an address nobody knows (autobound, abstract): it never becomes
 * readable, so an event loop that watches it never wakes for it.
 */
export function quietListener(): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | O_CLOEXEC, 0));
  // An address of just the family: the kernel picks an abstract name (autobind).
  check("bind", libc().bind(fd, new Uint16Array([AF_UNIX]), 2));
  check("listen", libc().listen(fd, 1));
  return fd;
}

/** The pid, uid and gid of the peer of a connected Unix socket (SO_PEERCRED). */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  const cred = new Int32Array(3);
  const len = new Uint32Array([12]);
  check("getsockopt", libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len));
  return { pid: cred[0]!, uid: cred[1]! >>> 0, gid: cred[2]! >>> 0 };
}

// An int socket option, or undefined when getsockopt refuses it.
function intOption(fd: number, option: number): number | undefined {
  const val = new Int32Array(1);
  const len = new Uint32Array([4]);
  return libc().getsockopt(fd, SOL_SOCKET, option, val, len) === 0 ? val[0]! : undefined;
}

/** Whether a socket is listening (SO_ACCEPTCONN); false for anything getsockopt refuses. */
export function isListening(fd: number): boolean {
  return (intOption(fd, SO_ACCEPTCONN) ?? 0) !== 0;
}

/** The address family of socket `fd` (SO_DOMAIN: 1 unix, 2 IPv4, 10 IPv6), or -1 when it has none. */
export function socketDomain(fd: number): number {
  return intOption(fd, SO_DOMAIN) ?? -1;
}
