// The C handler that parks one thread of this process for the length of a fork, as a string
// (carried like forward-c.ts). Used for Bun 1.2/1.3's allocator scavenger (libpas), which sleeps
// in a timed futex wait and, when it wakes, takes libpas's locks: a fork while it holds one left
// the child waiting on that lock forever (src/fork/quiesce.ts). Parked inside this handler, the
// thread holds none of them until the parent lets it go right after fork() returns.
export const PARK_C = String.raw`/* Async-signal-safe: raw system calls only, errno saved and restored. No system headers.
   x86_64 only (the system call numbers and where the interrupted instruction pointer sits in
   the ucontext); elsewhere the library never installs it.

   The parent sets want to the thread's id and sends the signal with tgkill(2). The handler, in
   that thread, records the instruction it interrupted (the parent checks that it was the wait
   it saw in /proc), says it arrived, and sleeps on gen until the parent bumps it (or 2 s pass:
   a parked thread is never left parked for good). Any other thread that gets the signal, or
   the thread once the parent gave up, returns at once. */
long syscall(long number, ...);
int *__errno_location(void);

#define SYS_FUTEX 202
#define SYS_GETPID 39
#define SYS_GETTID 186
#define SYS_TGKILL 234
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define UC_RIP 168 /* offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) on x86_64 */

struct snap_ts { long sec; long nsec; };

static volatile int want;
static volatile int arrived;
static volatile int gen;
static volatile unsigned long where;

void snap_park(int sig, void *info, void *uc) {
  int saved = *__errno_location();
  int tid = (int)syscall(SYS_GETTID);
  int g = gen;
  int i;
  if (tid != 0 && want == tid) {
    where = *(unsigned long *)((char *)uc + UC_RIP);
    arrived = tid;
    syscall(SYS_FUTEX, &arrived, FUTEX_WAKE_PRIVATE, 1);
    for (i = 0; i < 40 && gen == g && want == tid; i++) {
      struct snap_ts t;
      t.sec = 0;
      t.nsec = 50000000;
      syscall(SYS_FUTEX, &gen, FUTEX_WAIT_PRIVATE, g, &t);
    }
  }
  *__errno_location() = saved;
}

/* Asks thread tid to park, sends it sig, and waits up to ms for it to arrive. Returns 1 when it
   has parked, 0 when it did not arrive in time (then it is no longer wanted), -1 when tgkill
   failed. */
int snap_park_thread(int tid, int sig, int ms) {
  int i;
  arrived = 0;
  where = 0;
  want = tid;
  if (syscall(SYS_TGKILL, syscall(SYS_GETPID), tid, sig) != 0) {
    want = 0;
    return -1;
  }
  for (i = 0; i < ms && arrived != tid; i++) {
    struct snap_ts t;
    t.sec = 0;
    t.nsec = 1000000;
    syscall(SYS_FUTEX, &arrived, FUTEX_WAIT_PRIVATE, 0, &t);
  }
  if (arrived == tid) return 1;
  want = 0;
  gen++;
  return 0;
}

/* The instruction the parked thread was interrupted at. */
unsigned long snap_park_where(void) { return where; }

/* Lets the parked thread go (and forgets it: a signal still on its way finds nobody wanted). */
void snap_park_release(void) {
  want = 0;
  arrived = 0;
  gen++;
  syscall(SYS_FUTEX, &gen, FUTEX_WAKE_PRIVATE, 2147483647);
}

void *snap_park_ptr(void) { return (void *)snap_park; }
`;
