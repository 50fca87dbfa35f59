// Handing a connection over to a detached child (an attach session): the child keeps the
// descriptor as it is, and so do the snapshots taken inside it; the live process lets go of it.
//
// Races this handles: the parent removes the connection from its (still shared) epoll instance
// right after the fork, possibly before the child has rebuilt its own instance; the child
// rebuilds from the registrations read before the fork (the epoll step), so it keeps the
// connection's. And the registration belongs to the connection, not the number: the parent must
// remove it before it lets go, or the instance would go on reporting the child's traffic to a
// socket object the parent is about to free.
import { epollFds } from "../proc/fds.ts";
import { epollDel } from "../sys/epoll.ts";
import { close, dup3, O_CLOEXEC } from "../sys/fd.ts";
import { socketPair } from "../sys/socket.ts";

/**
 * In the parent, after the fork: replaces `fd` with a socket whose peer is gone, so this process
 * lets go of the connection without shutting it down for the child that shares it.
 */
export function letGo(fd: number): void {
  for (const ep of epollFds()) epollDel(ep, fd);
  const [a, b] = socketPair();
  close(b);
  dup3(a, fd, O_CLOEXEC);
  close(a);
}
