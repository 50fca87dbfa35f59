// The C signal handler a waiting parent runs, as a string: carried inside the module so that it
// survives `bun build --target bun` and `bun build --compile` (a .c file next to it would not).
// compileC (ffi.ts) writes it to a private temporary file for TinyCC.
export const FORWARD_C = String.raw`/* The one piece of bun-snapshot that must be C: the signal handler a waiting parent runs. It is
   async-signal-safe: it saves and restores errno, counts the signal, and makes one kill(2) to
   the child. No system headers, so it compiles where libc's development files are absent.

   Nothing is lost between the handler and the reader: the handler is the only writer of a
   signal's count, and the reader only compares it with the count at the install, so there is no
   read-then-clear for a signal to fall into. (TinyCC has no atomic
   builtins; a count bumped by two threads at once for the same signal may count it once, which
   is what the kernel does for a standard signal that is already pending.) Signals 1 to 64. */
int kill(int pid, int sig);
int *__errno_location(void);
int sigaction(int sig, const void *act, void *old);

#define MAX_SIGNAL 64

static volatile int child_pid;
static volatile unsigned int counts[MAX_SIGNAL + 1];
static unsigned int base[MAX_SIGNAL + 1]; /* the counts when the handler was installed */

void snap_forward(int sig) {
  int saved = *__errno_location();
  if (sig > 0 && sig <= MAX_SIGNAL) counts[sig]++;
  if (child_pid > 0) kill(child_pid, sig);
  *__errno_location() = saved;
}

/* Which of sigs[0..n) arrived since snap_install() (flags[i] 1 or 0); how many did. */
static int arrived(const int *sigs, int n, int *flags) {
  int i, k = 0;
  for (i = 0; i < n; i++) k += flags[i] = counts[sigs[i]] != base[sigs[i]];
  return k;
}

/* From now on forwards to pid; flags: which of sigs arrived while no child was set (the reader
   forwards those), and how many. Read, then set, in one call: a signal in between (a few
   instructions) is counted but forwarded by nobody (the parent still acts on it after the
   child); set first, a signal could reach the child twice (seen under load when the child was
   fast). */
int snap_attach(int pid, const int *sigs, int n, int *flags) {
  int k = arrived(sigs, n, flags);
  child_pid = pid;
  return k;
}

/* The dispositions of sigs[0..n) saved into saved (a struct sigaction of 152 bytes each: glibc
   and musl, x86_64 and aarch64, see src/sys/signal.ts), then snap_forward installed on each
   (SA_RESTART, an empty mask). 0; or -errno when one failed, every disposition changed put back. */
#define SACT 152 /* struct sigaction: glibc and musl, x86_64 and aarch64 (src/sys/signal.ts) */
int snap_install(const int *sigs, int n, unsigned char *saved) {
  unsigned char act[SACT];
  int i, k, e;
  child_pid = 0;
  for (k = 0; k <= MAX_SIGNAL; k++) base[k] = counts[k];
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

/* Puts back what snap_install() saved (the last first) and forwards to nobody; flags: which of
   sigs arrived since the install (before the attach or after it: the reader's own to act on now
   that its dispositions are back), and how many. */
int snap_end(const int *sigs, int n, const unsigned char *saved, int *flags) {
  int i;
  for (i = n; i-- > 0;) sigaction(sigs[i], saved + SACT * i, 0);
  child_pid = 0;
  return arrived(sigs, n, flags);
}
`;
