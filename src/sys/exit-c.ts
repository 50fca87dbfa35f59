// The child's end with its memory let go of later (joined into the native fork's unit by
// fork-c.ts): a snapshot child's exit_group(2) tears its address space down before its parent's
// wait returns (a fork's page tables: 0.8 ms at an empty heap, 20-40 ms at 1 GiB, measured). Here
// the child first starts a helper process that shares its memory, descriptor table and working
// directory (clone CLONE_VM | CLONE_FILES | CLONE_FS), so that its own exit only drops references:
// the parent resumes at once and the helper, woken by the child's end (a pidfd), frees the memory
// on another core.
//
// Before it ends the child lets go of everything a plain end would let go of before the parent's
// wait returns: each descriptor is pointed at /dev/null (replaced, not closed: a thread of the
// child still writing never finds its number reused), and its working directory is "/" for the
// helper (an unshared copy: its other threads keep theirs). What the memory holds cannot be let go
// of that way, so a child that maps anything but anonymous memory and the files of the program's
// code (a mapped data file holds its open file and any lock on it, a memfd its seals, System V
// shared memory its attach count) ends plainly, and so does a child where any step fails: the
// helper is then killed and reaped by the child before it exits.
//
// The helper is the child's child: when the child ends it goes to the system's reaper (the
// nearest subreaper, else init), which must reap it. Never where this process would be that
// reaper (it is init, or a subreaper: Bun reaps nothing it did not spawn), nor with a single CPU
// (the teardown would take the parent's). And the parent checks that helpers are reaped: each
// child writes its helper's pid into a page the parent shares with its children; the parent
// follows them, and one still a zombie after REAP_MS stops the deferral for this process. Until
// one helper has been seen reaped, at most NPEND_UNPROVEN helpers and children are followed at
// once (a child beyond them ends plainly), and a snapshot child defers nothing of its own
// children's: a reaper that reaps nothing gets no more than NPEND_UNPROVEN from a process tree.
// After, at most NPEND at once (each unreaped helper counts against RLIMIT_NPROC and pids.max).
export const EXIT_C = String.raw`/* ---- the deferred teardown (src/sys/exit-c.ts) ---- */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
#if defined(__aarch64__)
#define SYS_PPOLL_ 73
#define SYS_SIGPROCMASK_ 135
#define SYS_EXIT_GROUP_ 94
#define SYS_SCHED_GETAFFINITY_ 123
#else
#define SYS_PPOLL_ 271
#define SYS_SIGPROCMASK_ 14
#define SYS_EXIT_GROUP_ 231
#define SYS_SCHED_GETAFFINITY_ 204
#endif
#define SYS_PIDFD_OPEN_ 434 /* both */
#define SYS_CLOSE_RANGE_ 436 /* both */
#define NSLOT 64   /* children in flight at once (async trials) */
#define NPEND 64 /* helpers followed until seen reaped (each unreaped one counts against RLIMIT_NPROC and pids.max) */
#define NPEND_UNPROVEN 8 /* helpers and children before one was seen reaped (the most a reaper that reaps nothing gets) */
#define NEXEC 64 /* files with an executable mapping (more: the child ends plainly) */
#define HELPER_NAME "snapshot-exit"

/* The parent's side, valid in the process whose pid is dpid (a child's copy is stale). */
static int *dring;                /* shared page: the helper's pid of the child in each slot */
static int dpid, dslot[NSLOT];    /* the child in each slot, 0 free */
static int pend[NPEND], npend, phead;
static long pend_at[NPEND];
static int doff;                  /* 1: a helper was left unreaped; never again in this process */
static int dproven;               /* 1: a helper was seen reaped (the reaper reaps) */
static int dcpus;                 /* 0 not read yet, 1 a single CPU (never defer), 2 more */
/* The child's side: where it writes its helper's pid (valid when getpid() == epid). */
static int *ering, eslot, epid;
/* The helper's stack. */
static long hstack[2048];
int unshare(int flags);
int chdir(const char *path);
int waitpid(int pid, int *status, int options);

/* The state letter of process pid, and its parent's pid into ppid, when its name is name (any
   name: 0); 0 when it is gone or named otherwise. */
static int proc_state(int pid, const char *name, int *ppid) {
  char path[64], buf[256];
  const char *n;
  int r = slurp(fdpath(path, "/proc/", pid, "/stat"), buf, sizeof buf), a, b;
  if (r <= 0 || !stat_name(buf, r, &a, &b) || b + 4 >= r) return 0;
  if (name) {
    for (n = buf + a + 1; n < buf + b && *name && *n == *name; n++, name++) ;
    if (n != buf + b || *name) return 0;
  }
  n = buf + b + 4; /* after ") S " */
  *ppid = num(&n, 10);
  return (unsigned char)buf[b + 2];
}

/* Whether this helper has been reaped (1: gone, or its pid is someone else's now), not yet (0),
   or was left a zombie past the limit (-1). One still alive is followed on (its teardown can be
   long; only a zombie says the reaper does not reap). */
static int reaped(int pid, long age_us, long limit_us) {
  int ppid, st;
  if (kill(pid, 0) != 0) return 1;
  if (age_us < limit_us) return 0;
  st = proc_state(pid, HELPER_NAME, &ppid);
  if (st == 0) return 1;
  return st == 'Z' ? -1 : 0;
}

/* Whether this process may run a helper beside it: more than one CPU in its affinity mask and in
   the cpu.max of its cgroup and of each cgroup above it (v2; a missing file: no limit). Read once
   per process tree (a child has its parent's). */
static int cpus_enough(void) {
  unsigned char mask[128];
  char buf[512], dir[400], file[420];
  int r, i, n = 0, len;
  const char *p;
  if (dcpus) return dcpus == 2;
  r = syscall(SYS_SCHED_GETAFFINITY_, 0, sizeof mask, mask);
  for (i = 0; i < r; i++)
    for (; mask[i]; mask[i] &= mask[i] - 1) n++;
  dcpus = r > 0 && n < 2 ? 1 : 2;
  /* "0::/a/b" -> /sys/fs/cgroup/a/b/cpu.max, then /sys/fs/cgroup/a/cpu.max, ...: "max <period>"
     or "<quota> <period>" */
  if (dcpus == 2 && slurp("/proc/self/cgroup", buf, sizeof buf) > 3 && starts(buf, "0::/")) {
    const char *pre = "/sys/fs/cgroup", *q = buf + 3;
    len = 0;
    while (*pre) dir[len++] = *pre++;
    while (*q && *q != '\n' && len < (int)sizeof dir - 1) dir[len++] = *q++;
    while (len > 14 && dir[len - 1] == '/') len--;
    for (;;) {
      for (i = 0; i < len; i++) file[i] = dir[i];
      for (pre = "/cpu.max"; *pre; pre++) file[i++] = *pre;
      file[i] = 0;
      if (slurp(file, buf, sizeof buf) > 0 && buf[0] >= '0' && buf[0] <= '9') {
        unsigned long quota, period;
        p = buf;
        quota = num(&p, 10);
        p = skipws(p);
        period = num(&p, 10);
        if (period > 0 && quota < 2 * period) dcpus = 1;
      }
      if (len <= 14) break; /* /sys/fs/cgroup itself done */
      while (len > 14 && dir[len - 1] != '/') len--;
      while (len > 14 && dir[len - 1] == '/') len--;
    }
  }
  return dcpus == 2;
}

/* Parent, before the fork: the slot the child writes its helper's pid to, or -(why not):
   -1 not asked, -2 off (a helper left unreaped), -3 this process is init or a subreaper, or has
   a single CPU, -4 no page, -5 too many helpers not yet reaped and children in flight, -6 a
   snapshot child whose parent had not seen a helper reaped. */
static int defer_slot(long limit_us) {
  int k, sub = 0, free_at = -1, inflight = 0, ppid;
  long t = now_us();
  if (doff) return -2;
  if (getpid() == 1 || prctl(37 /* PR_GET_CHILD_SUBREAPER */, &sub, 0UL, 0UL, 0UL) != 0 || sub || !cpus_enough()) return -3;
  if (dpid != getpid()) {
    void *m;
    if (dpid != 0 && !dproven) return -6; /* (doff, dproven, dcpus stay a child's: same reaper, same CPUs) */
    m = mmap(0, 4096, 3 /* PROT_READ|PROT_WRITE */, 0x21 /* MAP_SHARED|MAP_ANONYMOUS */, -1, 0);
    if (m == (void *)-1) return -4;
    dring = m;
    dpid = getpid();
    npend = phead = 0;
    for (k = 0; k < NSLOT; k++) dslot[k] = 0;
  }
  /* Children that ended: their helpers (if any) join the ones to follow. A child still there is
     ours only if its parent is this process (else its pid was reaped and reused). The slot is
     read again once the child is found gone: it may have written it meanwhile. */
  for (k = 0; k < NSLOT; k++) {
    if (dslot[k] > 0) {
      int gone = dring[k] > 0 || kill(dslot[k], 0) != 0 || proc_state(dslot[k], 0, &ppid) == 0 || ppid != dpid;
      if (gone && dring[k] > 0) {
        pend[(phead + npend) % NPEND] = dring[k]; /* (npend + children in flight never pass NPEND) */
        pend_at[(phead + npend) % NPEND] = t;
        npend++;
      }
      if (gone) dslot[k] = 0;
    }
    if (dslot[k] == 0 && free_at < 0) free_at = k;
    if (dslot[k] != 0) inflight++;
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
  if (free_at < 0 || npend + inflight >= (dproven ? NPEND : NPEND_UNPROVEN)) return -5;
  dring[free_at] = 0;
  return free_at;
}

/* The helper. With a pidfd of the child: sleeps (every signal blocked) until the child has
   ended, all its threads, then closes the table it is left holding (the /dev/null copies, and
   what a thread of the child opened after the child's last look) and exits, tearing the memory
   down. Without (a kernel before 5.3): dies with the thread that made it (PR_SET_PDEATHSIG), or at
   once if that is gone already. */
static int exit_helper(void *arg) {
  long a = (long)arg;
  int pidfd = a & 0xffffffff, child = a >> 32;
  long r;
  struct { int fd; short events, revents; } p;
  prctl(15 /* PR_SET_NAME */, (unsigned long)HELPER_NAME, 0UL, 0UL, 0UL);
  if (pidfd >= 0) {
    p.fd = pidfd;
    p.events = 1; /* POLLIN: the process has ended */
    p.revents = 0;
    while ((r = syscall(SYS_PPOLL_, &p, 1, 0, 0, 8)) == 0) ;
    /* Only once the child has ended: until then the table is the child's too. */
    if (r > 0) syscall(SYS_CLOSE_RANGE_, 0, ~0U, 0);
    return 0;
  }
  prctl(1 /* PR_SET_PDEATHSIG */, 9UL, 0UL, 0UL, 0UL);
  if (getppid() != child) return 0;
  for (;;) syscall(SYS_PPOLL_, 0, 0, 0, 0, 8);
  return 0;
}

/* Whether this process maps only what a helper may hold past its parent's resume, nothing that
   another process could see held: anonymous memory, private (as the pages this file shares with a
   parent or child) or shared (whatever a thread's end marks there, a robust mutex, it marks in
   the shared memory itself), and the files that have an executable mapping (the program and its
   libraries, their other segments too). Not: a mapped data file (it holds its open file and any
   lock on it), a memfd (its seals), System V shared memory (its attach count). */
static int maps_plain(void) {
  unsigned long dev[NEXEC], ino[NEXEC];
  int i, k, n = 0, code, fd = pq_open(), r;
  if (fd >= 0) {
    r = read_files(fd);
    close(fd);
  } else r = read_maps(0);
  if (r < 0 || nmaps > MAXMAPS) return 0;
  for (i = 0; i < nmaps; i++)
    if (map_kind[i] != MAP_ANON && (map_prot[i] & 4)) {
      if (n == NEXEC) return 0;
      dev[n] = map_dev[i];
      ino[n++] = map_ino[i];
    }
  for (i = 0; i < nmaps; i++) {
    if (map_kind[i] == MAP_ANON || map_kind[i] == MAP_SHARED_ANON) continue;
    if (map_kind[i] == MAP_SHARED_OTHER) return 0;
    for (code = 0, k = 0; k < n && !code; k++) code = dev[k] == map_dev[i] && ino[k] == map_ino[i];
    if (!code) return 0;
  }
  return 1;
}

/* Ends this process with code. A child made by a native fork that asked for it first starts its
   helper (sharing its memory, descriptor table and working directory: nothing to copy, nothing to
   wait for) and lets go of what its end must let go of before its parent's wait returns, as a
   plain end does: every descriptor pointed at /dev/null (replaced, not closed: a thread of this
   child still writing never finds a number reused), its working directory "/" (its own copy:
   other threads keep theirs); then, if it maps nothing but what the helper may hold (maps_plain),
   says the helper's pid to its parent; else kills and reaps the helper and ends plainly. Any step
   that fails: a plain end. dry: the parent's rehearsal, returns. */
int snap_exit(int code, int dry) {
  unsigned long all[2];
  int null, dir, pidfd, fd, h;
  if (dry) return getpid();
  if (ering && epid == getpid() && (null = open("/dev/null", 2 /* O_RDWR */ | O_CLOEXEC_)) >= 0) {
    all[0] = all[1] = ~0UL;
    syscall(SYS_SIGPROCMASK_, 0 /* SIG_BLOCK */, all, 0, 8);
    pidfd = syscall(SYS_PIDFD_OPEN_, epid, 0);
    dir = (pidfd >= 0 || err() == 38 /* ENOSYS: the parent-death signal instead */) && unshare(0x200 /* CLONE_FS */) == 0 && chdir("/") == 0
      ? open_numbered("/proc/self/fd") : -1;
    h = dir < 0 ? -1 : clone(exit_helper, (void *)((unsigned long)(hstack + 2048) & ~15UL), 0x100 | 0x200 | 0x400 /* CLONE_VM | CLONE_FS | CLONE_FILES; no exit signal */,
      (void *)((long)epid << 32 | (unsigned int)pidfd));
    if (h > 0) {
      while ((fd = next_num(dir)) >= 0)
        if (fd != dir && fd != null && fd != pidfd) dup3(null, fd, 0);
      if (maps_plain()) ering[eslot] = h;
      else {
        kill(h, 9);
        waitpid(h, 0, 0x40000000 /* __WALL */);
      }
    }
  }
  syscall(SYS_EXIT_GROUP_, code);
  return -1;
}
`;
