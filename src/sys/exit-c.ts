// The child's end with its memory let go of later (joined into the native fork's unit by
// fork-c.ts): a snapshot child's exit_group(2) tears its address space down before its parent's
// wait returns (a fork's page tables: 0.8 ms at an empty heap, 20-40 ms at 1 GiB, measured). Here
// the child first starts a helper process that shares its memory and descriptor table (clone
// CLONE_VM | CLONE_FILES), so that its own exit only drops references: the parent resumes at once
// and the helper, killed by the child's death (PR_SET_PDEATHSIG), frees the memory on another core.
//
// The helper is the child's child: when the child ends it goes to the system's reaper (the
// nearest subreaper, else init), which must reap it. Never where this process would be that
// reaper (it is init, or a subreaper: Bun reaps nothing it did not spawn). And the parent checks
// that helpers are reaped: each child writes its helper's pid into a page the parent shares with
// its children; the parent follows them, and one still a zombie after REAP_MS stops the deferral
// for this process. Until one helper has been seen reaped, at most NPEND_UNPROVEN are followed
// at once (a child beyond them ends plainly): a reaper that reaps nothing gets no more than that.
export const EXIT_C = String.raw`/* ---- the deferred teardown (src/sys/exit-c.ts) ---- */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
#if defined(__aarch64__)
#define SYS_PPOLL_ 73
#define SYS_SIGPROCMASK_ 135
#define SYS_EXIT_GROUP_ 94
#else
#define SYS_PPOLL_ 271
#define SYS_SIGPROCMASK_ 14
#define SYS_EXIT_GROUP_ 231
#endif
#define NSLOT 64   /* children in flight at once (async trials) */
#define NPEND 1024 /* helpers followed until seen reaped */
#define NPEND_UNPROVEN 32 /* as many before one was seen reaped (the most a reaper that reaps nothing gets) */
#define HELPER_NAME "snapshot-exit"

/* The parent's side, valid in the process whose pid is dpid (a child's copy is stale). */
static int *dring;                /* shared page: the helper's pid of the child in each slot */
static int dpid, dslot[NSLOT];    /* the child in each slot, 0 free */
static int pend[NPEND], npend, phead;
static long pend_at[NPEND];
static int doff;                  /* 1: a helper was left unreaped; never again in this process */
static int dproven;               /* 1: a helper was seen reaped (the reaper reaps) */
/* The child's side: where it writes its helper's pid (valid when getpid() == epid). */
static int *ering, eslot, epid;
/* The helper's stack. */
static long hstack[2048];

/* This helper's pid was reaped (gone, or its pid now someone else's); -1: still our zombie. */
static int reaped(int pid, long age_us, long limit_us) {
  char path[64], buf[256];
  int r;
  const char *p;
  if (kill(pid, 0) != 0) return 1;
  if (age_us < limit_us) return 0;
  r = slurp(fdpath(path, "/proc/", pid, "/stat"), buf, sizeof buf - 1);
  if (r <= 0) return 1;
  buf[r] = 0;
  for (p = buf; *p && *p != '('; p++) ;
  if (!*p || !starts(p + 1, HELPER_NAME ") Z")) return 1;
  return -1;
}

/* Parent, before the fork: the slot the child writes its helper's pid to, or -(why not):
   -1 not asked, -2 off (a helper left unreaped), -3 this process is init or a subreaper, -4 no
   page, -5 too many helpers not yet reaped or children in flight. */
static int defer_slot(long limit_us) {
  int k, sub = 0, free_at = -1;
  long t = now_us();
  if (doff) return -2;
  if (getpid() == 1 || prctl(37 /* PR_GET_CHILD_SUBREAPER */, &sub, 0UL, 0UL, 0UL) != 0 || sub) return -3;
  if (dpid != getpid()) {
    void *m = mmap(0, 4096, 3 /* PROT_READ|PROT_WRITE */, 0x21 /* MAP_SHARED|MAP_ANONYMOUS */, -1, 0);
    if (m == (void *)-1) return -4;
    dring = m;
    dpid = getpid();
    npend = phead = 0; /* (doff and dproven stay a child's: its helpers go to the same reaper) */
    for (k = 0; k < NSLOT; k++) dslot[k] = 0;
  }
  /* Children that ended: their helpers (if any) join the ones to follow. */
  for (k = 0; k < NSLOT; k++) {
    if (dslot[k] > 0 && dring[k] > 0) {
      if (npend < NPEND) {
        pend[(phead + npend) % NPEND] = dring[k];
        pend_at[(phead + npend) % NPEND] = t;
        npend++;
      }
      dslot[k] = 0;
    } else if (dslot[k] > 0 && kill(dslot[k], 0) != 0) dslot[k] = 0; /* reaped, no helper */
    if (dslot[k] == 0 && free_at < 0) free_at = k;
  }
  while (npend > 0) {
    int r = reaped(pend[phead], t - pend_at[phead], limit_us);
    if (r == 0) break;
    if (r < 0) doff = 1;
    else dproven = 1;
    phead = (phead + 1) % NPEND;
    npend--;
  }
  if (doff) return -2;
  if (free_at < 0 || npend >= (dproven ? NPEND : NPEND_UNPROVEN)) return -5;
  dring[free_at] = 0;
  return free_at;
}

/* The helper: dies with the child (or at once if the child is gone already), then sleeps, every
   signal blocked, until that SIGKILL. */
static int exit_helper(void *child) {
  prctl(1 /* PR_SET_PDEATHSIG */, 9UL, 0UL, 0UL, 0UL);
  prctl(15 /* PR_SET_NAME */, (unsigned long)HELPER_NAME, 0UL, 0UL, 0UL);
  if (getppid() != (int)(long)child) return 0;
  for (;;) syscall(SYS_PPOLL_, 0, 0, 0, 0, 8);
  return 0;
}

/* Ends this process with code. A child made by a native fork that asked for it first starts its
   helper (sharing its memory and its descriptor table: nothing to copy, nothing to wait for) and
   says its pid to its parent; then points every descriptor at /dev/null, so that its end lets go of
   every file, pipe and socket before its parent's wait returns, as a plain end does (the helper,
   holding the table, closes only the /dev/null copies): replaced, not closed, so that a thread of
   this child still writing never finds a number reused. dry: the parent's rehearsal, returns. */
int snap_exit(int code, int dry) {
  unsigned long all[2];
  int null, dir, fd, h;
  if (dry) return getpid();
  if (ering && epid == getpid() && (null = open("/dev/null", 2 /* O_RDWR */ | O_CLOEXEC_)) >= 0) {
    all[0] = all[1] = ~0UL;
    syscall(SYS_SIGPROCMASK_, 0 /* SIG_BLOCK */, all, 0, 8);
    dir = open_numbered("/proc/self/fd");
    h = dir < 0 ? -1 : clone(exit_helper, (void *)((unsigned long)(hstack + 2048) & ~15UL), 0x100 | 0x400 /* CLONE_VM | CLONE_FILES; no exit signal */, (void *)(long)epid);
    if (h > 0) {
      ering[eslot] = h;
      while ((fd = next_num(dir)) >= 0)
        if (fd != dir && fd != null) dup3(null, fd, 0);
    }
  }
  syscall(SYS_EXIT_GROUP_, code);
  return -1;
}
`;
