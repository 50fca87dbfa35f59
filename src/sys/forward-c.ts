// The C signal handler a waiting parent runs, as a string: carried inside the module so that it
// survives `bun build --target bun` and `bun build --compile` (a .c file next to it would not).
// compileC (ffi.ts) writes it to a private temporary file for TinyCC.
export const FORWARD_C = String.raw`/* The one piece of bun-snapshot that must be C: the signal handler a waiting parent runs. It is
   async-signal-safe: it saves and restores errno, counts the signal, and makes one kill(2) to
   the child. No system headers, so it compiles where libc's development files are absent.

   Nothing is lost between the handler and the reader: the handler is the only writer of a
   signal's count, and the reader (the JS thread) only reads it and compares with the count it
   saw before, so there is no read-then-clear for a signal to fall into. (TinyCC has no atomic
   builtins; a count bumped by two threads at once for the same signal may count it once, which
   is what the kernel does for a standard signal that is already pending.) Signals 1 to 64. */
int kill(int pid, int sig);
int *__errno_location(void);

#define MAX_SIGNAL 64

static volatile int child_pid;
static volatile unsigned int counts[MAX_SIGNAL + 1];

void snap_forward(int sig) {
  int saved = *__errno_location();
  if (sig > 0 && sig <= MAX_SIGNAL) counts[sig]++;
  if (child_pid > 0) kill(child_pid, sig);
  *__errno_location() = saved;
}

void snap_set_child(int pid) { child_pid = pid; }

unsigned int snap_count(int sig) { return sig > 0 && sig <= MAX_SIGNAL ? counts[sig] : 0; }

void *snap_forward_ptr(void) { return (void *)snap_forward; }
`;
