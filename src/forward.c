/* The one piece of bun-snapshot that must be C: the signal handler a waiting parent runs. It is
   async-signal-safe: it saves and restores errno, records the signal, and makes one kill(2)
   to the child. No system headers, so it compiles where libc's development files are absent. */
int kill(int pid, int sig);
int *__errno_location(void);

static volatile int child_pid;
static volatile unsigned long long pending;

void snap_forward(int sig) {
  int saved = *__errno_location();
  pending |= 1ULL << sig;
  if (child_pid > 0) kill(child_pid, sig);
  *__errno_location() = saved;
}

void snap_set_child(int pid) { child_pid = pid; }

unsigned long long snap_take_pending(void) {
  unsigned long long p = pending;
  pending = 0;
  return p;
}

void *snap_forward_ptr(void) { return (void *)snap_forward; }
