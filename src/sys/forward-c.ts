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
int sigaction(int sig, const void *act, void *old);

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

/* Every count at once (counts[0..64] into out), for the reader to compare with what it saw. */
void snap_counts(unsigned int *out) {
  int i;
  for (i = 0; i <= MAX_SIGNAL; i++) out[i] = counts[i];
}

/* From now on forwards to pid; out gets the counts just before (counts[0..64]): what they grew
   by since the reader's last look arrived while no child was set, and is the reader's to forward.
   Read, then set, in one call: a signal in between (a few instructions) is counted but forwarded
   by nobody (the parent still acts on it after the child); set first, a signal could reach the
   child twice (seen under load when the child was fast). */
void snap_attach(int pid, unsigned int *out) {
  snap_counts(out);
  child_pid = pid;
}

/* The dispositions of sigs[0..n) saved into saved (a struct sigaction of 152 bytes each: glibc
   and musl, x86_64 and aarch64, see src/sys/signal.ts), then snap_forward installed on each
   (SA_RESTART, an empty mask). 0; or -errno when one failed, every disposition changed put back. */
#define SACT 152 /* struct sigaction: glibc and musl, x86_64 and aarch64 (src/sys/signal.ts) */
int snap_install(const int *sigs, int n, unsigned char *saved) {
  unsigned char act[SACT];
  int i, k, e;
  for (k = 0; k < SACT; k++) act[k] = 0;
  *(void **)act = (void *)snap_forward;
  *(int *)(act + 136) = 0x10000000; /* SA_RESTART */
  for (i = 0; i < n; i++) {
    if (sigaction(sigs[i], 0, saved + SACT * i) != 0) break;
    if (sigaction(sigs[i], act, 0) != 0) break;
  }
  if (i == n) return 0;
  e = *__errno_location();
  while (i-- > 0) sigaction(sigs[i], saved + SACT * i, 0);
  return -e;
}

/* Puts back what snap_install() saved, the last first. */
void snap_uninstall(const int *sigs, int n, const unsigned char *saved) {
  while (n-- > 0) sigaction(sigs[n], saved + SACT * n, 0);
}
`;
