// The C watcher of an attach copy's connection, as a string (carried like forward-c.ts): a
// thread of its own that sleeps in poll(2) on the connection and ends the process with _exit
// when the client has gone (POLLHUP: both directions closed, POLLERR, POLLNVAL), however busy
// or idle the JavaScript thread is. No system headers, so it compiles without libc's headers.
export const HANGUP_C = String.raw`
int pthread_create(void *thread, const void *attr, void *(*fn)(void *), void *arg);
int pthread_detach(unsigned long thread);
int poll(void *fds, unsigned long n, int timeout);
int prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d);
void _exit(int code);

struct snap_pollfd { int fd; short events; short revents; };

static void *snap_hangup_watch(void *arg) {
  struct snap_pollfd p;
  p.fd = (int)(long)arg;
  p.events = 0; /* POLLHUP, POLLERR and POLLNVAL are always reported */
  prctl(15 /* PR_SET_NAME */, (unsigned long)"snap-hangup", 0, 0, 0);
  for (;;) {
    p.revents = 0;
    if (poll(&p, 1, -1) > 0 && (p.revents & (0x8 | 0x10 | 0x20))) _exit(0);
  }
  return 0;
}

int snap_watch_hangup(int fd) {
  unsigned long t;
  int r = pthread_create(&t, 0, snap_hangup_watch, (void *)(long)fd);
  if (r == 0) pthread_detach(t);
  return r;
}
`;
