// The fork and everything the child must do before its first line of JavaScript, in C, as a
// string (compiled by ffi.ts with bun:ffi cc, TinyCC, once per process; children inherit it).
// Why C: every line of JavaScript a child runs writes to copy-on-write pages (the heap, the JIT's
// profiling counters), and each first write to a page is a fault that copies it; the same work
// in JavaScript cost a child ~1,000 faults and ~5 ms (docs/measured.md). Here it is a few hundred
// system calls on the C stack. The rules are those of src/fork/isolate.ts (the JavaScript version,
// used where TinyCC is missing); the plan and out layouts are in src/fork/native.ts.
export const FORK_C = String.raw`/* No system headers (they may be absent): every prototype is declared here, and the layouts that
   differ between x86_64 and aarch64 (struct stat, struct epoll_event, O_* flags, syscall
   numbers) are chosen with __aarch64__. glibc and musl alike. */
typedef unsigned long size_t;
typedef long ssize_t;
int *__errno_location(void);
int kill(int pid, int sig);
int getpid(void);
int getppid(void);
int fork(void);
int prctl(int option, ...);
int open(const char *path, int flags, ...);
int close(int fd);
ssize_t read(int fd, void *buf, size_t n);
ssize_t write(int fd, const void *buf, size_t n);
ssize_t pread(int fd, void *buf, size_t n, long off);
long lseek(int fd, long off, int whence);
int fcntl(int fd, int cmd, ...);
int dup3(int from, int to, int flags);
ssize_t readlink(const char *path, char *buf, size_t n);
int eventfd(unsigned int count, int flags);
int timerfd_create(int clock, int flags);
int timerfd_settime(int fd, int flags, const long *value, long *old);
int epoll_create1(int flags);
int epoll_ctl(int epfd, int op, int fd, void *event);
int socketpair(int domain, int type, int protocol, int *sv);
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, unsigned int len);
int listen(int fd, int backlog);
int getsockopt(int fd, int level, int name, void *val, unsigned int *len);
int pipe2(int *fds, int flags);
int sigaction(int sig, const void *act, void *old);
int sigprocmask(int how, const void *set, void *old);
int setpgid(int pid, int pgid);
int tcsetpgrp(int fd, int pgrp);
int madvise(void *addr, size_t len, int advice);
long syscall(long n, ...);

#if defined(__aarch64__)
#define SYS_GETDENTS64 61
#define SYS_FSTAT 80
#define ST_MODE_AT 16
#define EV_DATA_AT 8
#define O_NOFOLLOW_ 0100000
#define O_DIRECTORY_ 040000
#else
#define SYS_GETDENTS64 217
#define SYS_FSTAT 5
#define ST_MODE_AT 24
#define EV_DATA_AT 4
#define O_NOFOLLOW_ 0400000
#define O_DIRECTORY_ 0200000
#endif
#define O_CLOEXEC_ 02000000
#define O_NONBLOCK_ 04000
#define S_IFMT_ 0170000
#define S_IFSOCK_ 0140000
#define S_IFREG_ 0100000
#define S_IFDIR_ 040000
#define S_IFIFO_ 010000
#define EPOLLIN_ 1u
#define EPOLLEXCLUSIVE_ (1u << 28)
#define SACT 152 /* struct sigaction: glibc and musl, x86_64 and aarch64 (src/sys/signal.ts) */

/* plan[0] flags */
#define F_FORKABLE 1
#define F_GROUP 2
#define F_TERMINAL 4
#define F_ISOLATE 8
#define F_FILES_SHARED 16
#define F_CONN_SHARED 32
#define F_LISTENERS_CLOSED 64
#define F_DB_WRITABLE 128
#define F_DB_COPY 256
#define F_DEAF 512
#define F_POOL 1024
#define F_HTTP_RUST 2048
#define F_HTTP_ZIG 4096
/* plan slots (src/fork/native.ts PLAN) */
#define P_PARENT 1
#define P_NKEEP 2
#define P_NCLOSE 3
#define P_NSIG 4
#define P_POOL 8   /* 8: base, stackSizeOff, maxThreads, syncOff, idleEventOff, runQueueOff, threadsOff, backOff */
#define P_HTTP 16  /* rust: slot, pthread, once; zig: lock */
#define P_CLOSE 24 /* 8 */
#define P_SIG 32   /* 64 */
#define P_KEEP 96  /* up to 160 */
#define P_KEEP_CAP 160
/* out slots (src/fork/native.ts OUT) */
#define O_PID 0
#define O_ERRNO 1
#define O_ADVISED 2
#define O_NREG_READ 3
#define O_STATUS 4 /* child: 0 isolated here, 1 the tables overflowed (isolate in JS), 2 not asked */
#define O_EPOLLS 8
#define O_REGS 9
#define O_WAKEUPS 10
#define O_FILES 11
#define O_CUT 12
#define O_LCLOSED 13
#define O_NKEPT 14
#define O_NFAILED 15
#define O_NDB 16
#define O_NDEAD 17
#define O_CONNS 18
#define O_POOL 19
#define O_HTTP 20
#define O_POOL_N 21
#define O_POOL_SPAWNED 22
#define O_HTTP_V 23
#define O_ISOLATE_US 24
#define O_REPAIR_US 25
#define O_PLAIN 26 /* 1: nothing is left for JavaScript but the plan's writes (src/fork/native.ts) */
#define O_KEPT 64   /* 64 */
#define O_DEAD 128  /* 32 x 3: fd, errno, offset of its path in text (a file that could not be reopened) */
#define O_DB 224    /* 32 x 3: fd, unsafe, offset of its path in text */
#define O_FAIL 320  /* 64 x 3: fd, what, errno */
#define OUT_SIZE 512
#define TEXT_CAP 16384

#define MAXFD 4096
#define MAXREG 8192

static int err(void) { return *__errno_location(); }
static long now_us(void) {
  long ts[2];
  syscall(
#if defined(__aarch64__)
    113,
#else
    228,
#endif
    1 /* CLOCK_MONOTONIC */, ts);
  return ts[0] * 1000000 + ts[1] / 1000;
}
static int starts(const char *s, const char *p) {
  while (*p)
    if (*s++ != *p++) return 0;
  return 1;
}
static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}
/* "<dir><fd><tail>" into buf. */
static char *fdpath(char *buf, const char *dir, int fd, const char *tail) {
  char t[16], *p = buf;
  int n = 0;
  while (*dir) *p++ = *dir++;
  do t[n++] = '0' + fd % 10; while ((fd /= 10));
  while (n) *p++ = t[--n];
  while (*tail) *p++ = *tail++;
  *p = 0;
  return buf;
}
static unsigned long long num(const char **s, int base) {
  unsigned long long v = 0;
  const char *p = *s;
  for (;; p++) {
    int c = *p, d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else break;
    v = v * base + d;
  }
  *s = p;
  return v;
}
static const char *skipws(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}
/* Just after "name" at the start of a line of text, or 0. */
static const char *line_of(const char *text, const char *name) {
  const char *p = text;
  while (*p) {
    if (starts(p, name)) {
      while (*name) p++, name++;
      return skipws(p);
    }
    while (*p && *p != '\n') p++;
    if (*p) p++;
  }
  return 0;
}
static unsigned long long field(const char *text, const char *name, int base) {
  const char *p = line_of(text, name);
  return p ? num(&p, base) : 0;
}
/* "(sec, nsec)" after name, into ts[0], ts[1]. */
static void pair(const char *text, const char *name, long *ts) {
  const char *p = line_of(text, name);
  ts[0] = ts[1] = 0;
  if (!p || *p != '(') return;
  p++;
  ts[0] = num(&p, 10);
  if (*p == ',') p++;
  p = skipws(p);
  ts[1] = num(&p, 10);
}
static int slurp(const char *path, char *buf, int cap) {
  int fd = open(path, O_CLOEXEC_), n = 0, r;
  if (fd < 0) return -1;
  while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += r;
  close(fd);
  buf[n] = 0;
  return n;
}
/* Calls fn(line) for each line of a /proc file of any size. */
static char lbuf[65536];
static int each_line(const char *path, void (*fn)(char *line)) {
  int fd = open(path, O_CLOEXEC_), have = 0, r, k;
  if (fd < 0) return -err();
  for (;;) {
    char *line = lbuf, *e, *end;
    r = read(fd, lbuf + have, sizeof lbuf - 1 - have);
    if (r < 0) {
      r = -err();
      close(fd);
      return r;
    }
    have += r;
    end = lbuf + have;
    for (e = line; e < end; e++)
      if (*e == '\n') {
        *e = 0;
        if (e > line) fn(line);
        line = e + 1;
      }
    if (r == 0 || (line == lbuf && have == (int)sizeof lbuf - 1)) {
      if (line < end) {
        *end = 0;
        fn(line);
      }
      if (r == 0) break;
      have = 0;
      continue;
    }
    have = end - line;
    for (k = 0; k < have; k++) lbuf[k] = line[k];
  }
  close(fd);
  return 0;
}
static int fstat_(int fd, unsigned long *dev, unsigned long *ino, unsigned int *mode) {
  unsigned long st[32];
  if (syscall(SYS_FSTAT, fd, st) != 0) return -1;
  *dev = st[0];
  *ino = st[1];
  *mode = *(unsigned int *)((char *)st + ST_MODE_AT);
  return 0;
}

/* ---- the mappings: MADV_DOFORK on each (src/fork/forkable.ts), and a table for the checks ---- */
#define MAXMAPS 16384
static unsigned long map_lo[MAXMAPS], map_hi[MAXMAPS];
static unsigned char map_rw[MAXMAPS];
static int nmaps, nadvised, map_advise;
static void map_line(char *line) {
  const char *p = line;
  unsigned long lo = num(&p, 16), hi;
  char *q;
  if (*p++ != '-') return;
  hi = num(&p, 16);
  p = skipws(p);
  if (nmaps < MAXMAPS) {
    map_lo[nmaps] = lo;
    map_hi[nmaps] = hi;
    map_rw[nmaps] = (p[0] == 'r') | (p[1] == 'w') << 1;
  }
  nmaps++;
  if (!map_advise) return;
  for (q = line; *q; q++)
    if (*q == '[' && (starts(q, "[vvar]") || starts(q, "[vvar_vclock]") || starts(q, "[vdso]") || starts(q, "[vsyscall]"))) return;
  madvise((void *)lo, hi - lo, 11 /* MADV_DOFORK */);
  nadvised++;
}
static int read_maps(int advise) {
  int r;
  nmaps = nadvised = 0;
  map_advise = advise;
  r = each_line("/proc/self/maps", map_line);
  return r < 0 ? r : nadvised;
}
/* Whether [a, a+len) lies in one readable (with w, writable) mapping. */
static int mapped(unsigned long a, unsigned long len, int w) {
  int lo = 0, hi = nmaps - 1;
  if (nmaps > MAXMAPS) return 0;
  while (lo <= hi) {
    int mid = (lo + hi) >> 1;
    if (a < map_lo[mid]) hi = mid - 1;
    else if (a >= map_hi[mid]) lo = mid + 1;
    else return a + len <= map_hi[mid] && (map_rw[mid] & 1) && (!w || (map_rw[mid] & 2));
  }
  return 0;
}

/* ---- the epoll registrations, read by the parent right before the fork ---- */
static int r_ep[MAXREG], r_tfd[MAXREG];
static unsigned int r_ev[MAXREG];
static unsigned long long r_data[MAXREG];
static long r_ino[MAXREG]; /* -1: the line has no ino */
static int nreg, reg_ep;
static char dents[32768];

static void reg_line(char *line) {
  const char *p;
  if (!starts(line, "tfd:")) return;
  if (nreg >= MAXREG) {
    nreg = MAXREG + 1;
    return;
  }
  p = skipws(line + 4);
  r_tfd[nreg] = num(&p, 10);
  p = skipws(p);
  if (!starts(p, "events:")) return;
  p = skipws(p + 7);
  r_ev[nreg] = num(&p, 16);
  p = skipws(p);
  if (!starts(p, "data:")) return;
  p = skipws(p + 5);
  r_data[nreg] = num(&p, 16);
  r_ino[nreg] = -1;
  for (; *p; p++)
    if (starts(p, "ino:")) {
      p += 4;
      r_ino[nreg] = num(&p, 16);
      break;
    }
  r_ep[nreg++] = reg_ep;
}
/* Every registration of every epoll instance of this process; -1 when over MAXREG. */
static int read_registrations(void) {
  int dir = open("/proc/self/fd", O_DIRECTORY_ | O_CLOEXEC_), n, i;
  char path[64], link[32];
  nreg = 0;
  if (dir < 0) return -1;
  while ((n = syscall(SYS_GETDENTS64, dir, dents, sizeof dents)) > 0)
    for (i = 0; i < n; i += *(unsigned short *)(dents + i + 16)) {
      const char *p = dents + i + 19;
      int fd, r;
      if (*p < '0' || *p > '9') continue;
      fd = num(&p, 10);
      if (fd == dir) continue;
      r = readlink(fdpath(path, "/proc/self/fd/", fd, ""), link, sizeof link - 1);
      if (r < 0) continue;
      link[r] = 0;
      if (!same(link, "anon_inode:[eventpoll]")) continue;
      reg_ep = fd;
      each_line(fdpath(path, "/proc/self/fdinfo/", fd, ""), reg_line);
    }
  close(dir);
  return nreg > MAXREG ? -1 : nreg;
}

/* ---- the child's isolation: src/fork/isolate.ts, the same rules in the same order ---- */
static int e_fd[MAXFD], e_type[MAXFD], e_flags[MAXFD], e_anon[MAXFD];
static unsigned long e_ino[MAXFD], e_dev[MAXFD];
static long unwatched[MAXFD];
static int nent, nunwatched, ntext;
enum { A_NONE, A_EPOLL, A_EVENTFD, A_TIMERFD, A_OTHER };
enum { W_NONE, W_SOCKET, W_PIPE, W_FILE, W_EPOLL, W_WAKEUP };

/* Appends the entry (a, b, c) to the list of out whose count is at slot "count" and whose
   entries start at slot "at" (at most "cap" kept; the count goes on). */
static void entry3(double *out, int count, int at, int cap, double a, double b, double c) {
  int n = out[count];
  if (n < cap) {
    out[at + 3 * n] = a;
    out[at + 3 * n + 1] = b;
    out[at + 3 * n + 2] = c;
  }
  out[count] = n + 1;
}
static void fail(double *out, int fd, int what, int e) { entry3(out, O_NFAILED, O_FAIL, 64, fd, what, e); }
static void list(double *out, int count, int at, int cap, int fd) {
  int n = out[count];
  if (n < cap) out[at + n] = fd;
  out[count] = n + 1;
}
static int keep_fd(const double *plan, int fd) {
  int i, n = plan[P_NKEEP];
  if (fd <= 2) return 1;
  for (i = 0; i < n && i < P_KEEP_CAP; i++)
    if ((int)plan[P_KEEP + i] == fd) return 1;
  return 0;
}
static long inode_at_fork(int fd) {
  unsigned long dev, ino;
  unsigned int mode;
  int i;
  for (i = 0; i < nent; i++)
    if (e_fd[i] == fd) return e_ino[i];
  return fstat_(fd, &dev, &ino, &mode) == 0 ? (long)ino : -1;
}
static long inode_now(int fd) {
  unsigned long dev, ino;
  unsigned int mode;
  return fstat_(fd, &dev, &ino, &mode) == 0 ? (long)ino : -1;
}
static int is_unwatched(long ino) {
  int i;
  for (i = 0; i < nunwatched; i++)
    if (unwatched[i] == ino) return 1;
  return 0;
}
static int replace(int fd, int fresh, int flags) {
  int r = dup3(fresh, fd, flags & O_CLOEXEC_), e = err();
  close(fresh);
  return r < 0 ? -e : 0;
}
static int is_sqlite(int fd, int flags) {
  static const char magic[16] = "SQLite format 3";
  char b[16];
  int i;
  if ((flags & 3) != 2) return 0;
  if (pread(fd, b, 16, 0) != 16) return 0;
  for (i = 0; i < 16; i++)
    if (b[i] != magic[i]) return 0;
  return 1;
}
static int dead_socket(void) {
  int sv[2];
  if (socketpair(1, 1 | O_CLOEXEC_, 0, sv) != 0) return -1;
  close(sv[1]);
  return sv[0];
}
static int quiet_listener(void) {
  unsigned short family = 1; /* AF_UNIX, an autobound abstract address nobody knows */
  int fd = socket(1, 1 | O_CLOEXEC_, 0);
  if (fd < 0) return -1;
  if (bind(fd, &family, 2) != 0 || listen(fd, 1) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
static int dead_pipe(int write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC_) != 0) return -1;
  close(write_end ? p[0] : p[1]);
  return write_end ? p[1] : p[0];
}
/* A database's path into text; its offset, or -1. */
static int save_text(char *text, const char *s) {
  int at = ntext, n = 0;
  while (s[n]) n++;
  if (ntext + n + 1 > TEXT_CAP) return -1;
  for (n = 0; s[n]; n++) text[ntext++] = s[n];
  text[ntext++] = 0;
  return at;
}
static int link_of(int fd, char *buf, int cap) {
  char path[64];
  int r = readlink(fdpath(path, "/proc/self/fd/", fd, ""), buf, cap - 1);
  if (r < 0) return -1;
  buf[r] = 0;
  return r;
}
/* The database (in text) whose -wal or -journal file link is; its offset in text, or -1. */
static int companion_of(const char *link, int len, const char *text, const double *out) {
  int i, n = out[O_NDB];
  for (i = 0; i < n && i < 32; i++) {
    const char *db;
    int k = 0;
    if (out[O_DB + 3 * i + 2] < 0) continue;
    db = text + (int)out[O_DB + 3 * i + 2];
    while (db[k] && db[k] == link[k]) k++;
    if (db[k] == 0 && (same(link + k, "-wal") || same(link + k, "-journal"))) return out[O_DB + 3 * i + 2];
  }
  return -1;
}
static void db_entry(double *out, int fd, int unsafe, int at) { entry3(out, O_NDB, O_DB, 32, fd, unsafe, at); }

/* A TCP connection (IPv4 or IPv6, not listening): maybe a node:http keep-alive socket. */
static void count_connection(int fd, double *out) {
  int v = 0, a = 0;
  unsigned int l = 4;
  if (getsockopt(fd, 1, 39 /* SO_DOMAIN */, &v, &l) != 0 || (v != 2 && v != 10)) return;
  l = 4;
  if (getsockopt(fd, 1, 30 /* SO_ACCEPTCONN */, &a, &l) == 0 && !a) out[O_CONNS]++;
}

/* Returns 0 when done, 1 when the descriptor table is larger than the tables here (nothing was
   changed: the caller isolates in JavaScript). */
static int isolate(const double *plan, double *out, char *text) {
  int fl0 = plan[0], dir, n, i, j, stdio_n = 0, dead = -1, quiet = -1, deadr = -1, deadw = -1, overflow = 0;
  unsigned long sdev[3], sino[3];
  char path[64], link[4096], info[1024];
  for (i = 0; i < 3; i++) {
    unsigned int mode;
    if (fstat_(i, &sdev[stdio_n], &sino[stdio_n], &mode) == 0) stdio_n++;
  }
  /* Every inherited descriptor with its type, before anything is created. */
  nent = nunwatched = ntext = 0;
  if ((dir = open("/proc/self/fd", O_DIRECTORY_ | O_CLOEXEC_)) < 0) return 1;
  while ((n = syscall(SYS_GETDENTS64, dir, dents, sizeof dents)) > 0)
    for (i = 0; i < n; i += *(unsigned short *)(dents + i + 16)) {
      const char *p = dents + i + 19;
      unsigned int mode;
      int fd;
      if (*p < '0' || *p > '9') continue;
      fd = num(&p, 10);
      if (fd == dir || keep_fd(plan, fd)) continue;
      if (nent >= MAXFD) { /* too many to isolate here; still counted: TCP connections */
        unsigned long dev, ino;
        overflow = 1;
        if (fstat_(fd, &dev, &ino, &mode) == 0 && (mode & S_IFMT_) == S_IFSOCK_) count_connection(fd, out);
        continue;
      }
      if (fstat_(fd, &e_dev[nent], &e_ino[nent], &mode) != 0) continue;
      if ((mode & S_IFMT_) == S_IFSOCK_) count_connection(fd, out);
      e_fd[nent] = fd;
      e_type[nent] = mode & S_IFMT_;
      e_anon[nent] = A_NONE;
      e_flags[nent] = 0;
      for (j = 0; j < stdio_n; j++)
        if (e_dev[nent] == sdev[j] && e_ino[nent] == sino[j]) e_flags[nent] = -1; /* stdout's duplicate: kept */
      nent++;
    }
  close(dir);
  if (overflow) return 1;
  /* Databases open for writing, by path, so that their -wal and -journal files are known too. */
  if (!(fl0 & F_DB_WRITABLE))
    for (i = 0; i < nent; i++) {
      int f;
      if (e_flags[i] < 0 || e_type[i] != S_IFREG_) continue;
      if ((f = fcntl(e_fd[i], 3 /* F_GETFL */, 0)) < 0 || !is_sqlite(e_fd[i], f) || link_of(e_fd[i], link, sizeof link) < 0) continue;
      db_entry(out, e_fd[i], 0, save_text(text, link));
    }
  for (i = 0; i < nent; i++) {
    int fd = e_fd[i], type = e_type[i], flags, what = W_NONE, fresh, r = 0;
    if (e_flags[i] < 0) {
      list(out, O_NKEPT, O_KEPT, 64, fd);
      continue;
    }
    if (type == S_IFSOCK_) flags = O_CLOEXEC_;
    else {
      int fl = fcntl(fd, 3 /* F_GETFL */, 0), fdf = fcntl(fd, 1 /* F_GETFD */, 0);
      if (fl < 0 || fdf < 0) {
        fail(out, fd, what, err());
        continue;
      }
      flags = fl | (fdf & 1 ? O_CLOEXEC_ : 0);
    }
    e_flags[i] = flags;
    if (type == 0) {
      if (link_of(fd, link, sizeof link) < 0) {
        fail(out, fd, W_NONE, err());
        continue;
      }
      if (same(link, "anon_inode:[eventpoll]")) {
        e_anon[i] = A_EPOLL;
        continue;
      }
      if (same(link, "anon_inode:[eventfd]") || same(link, "anon_inode:[timerfd]")) {
        int timer = link[12] == 't';
        what = W_WAKEUP;
        if (slurp(fdpath(path, "/proc/self/fdinfo/", fd, ""), info, sizeof info) < 0) {
          fail(out, fd, what, err());
          continue;
        }
        if (!timer) {
          unsigned long long count = field(info, "eventfd-count:", 16);
          int efl = (flags & (O_CLOEXEC_ | O_NONBLOCK_)) | (field(info, "eventfd-semaphore:", 10) ? 1 : 0);
          fresh = eventfd(count > 0xffffffffULL ? 0 : (unsigned int)count, efl);
          if (fresh >= 0 && count > 0xffffffffULL) write(fresh, &count, 8);
        } else {
          long spec[4];
          pair(info, "it_interval:", spec);
          pair(info, "it_value:", spec + 2);
          fresh = timerfd_create(field(info, "clockid:", 10), flags & (O_CLOEXEC_ | O_NONBLOCK_));
          if (fresh >= 0 && timerfd_settime(fresh, 0, spec, 0) != 0) {
            r = err();
            close(fresh);
            fresh = -1;
            *__errno_location() = r;
          }
        }
        if (fresh < 0 || (r = replace(fd, fresh, flags)) < 0) {
          fail(out, fd, what, fresh < 0 ? err() : -r);
          continue;
        }
        out[O_WAKEUPS]++;
      } else list(out, O_NKEPT, O_KEPT, 64, fd);
    } else if (type == S_IFSOCK_) {
      int a = 0;
      unsigned int l = 4;
      what = W_SOCKET;
      if (getsockopt(fd, 1, 30 /* SO_ACCEPTCONN */, &a, &l) == 0 && a) {
        if (!(fl0 & F_LISTENERS_CLOSED)) continue;
        if (fl0 & F_DEAF) { /* open but unwatched: its address still reads right */
          if (nunwatched < MAXFD) unwatched[nunwatched++] = e_ino[i];
          out[O_LCLOSED]++;
          continue;
        }
        if (quiet < 0 && (quiet = quiet_listener()) < 0) r = err();
        else if (dup3(quiet, fd, O_CLOEXEC_) < 0) r = err();
        else out[O_LCLOSED]++;
      } else {
        if (!(fl0 & F_CONN_SHARED)) {
          if (dead < 0 && (dead = dead_socket()) < 0) r = err();
          else if (dup3(dead, fd, O_CLOEXEC_) < 0) r = err();
          else out[O_CUT]++;
        }
      }
      if (r) fail(out, fd, what, r);
    } else if (type == S_IFIFO_) {
      int writes = (flags & 3) == 1, *end = writes ? &deadw : &deadr;
      what = W_PIPE;
      if (fl0 & F_CONN_SHARED) continue;
      if (*end < 0 && (*end = dead_pipe(writes)) < 0) r = err();
      else if (dup3(*end, fd, flags & O_CLOEXEC_) < 0) r = err();
      else out[O_CUT]++;
      if (r) fail(out, fd, what, r);
    } else if (type == S_IFREG_ || type == S_IFDIR_) {
      int mode = flags & ~(0100 | 0200 | 01000 | O_NOFOLLOW_ | O_CLOEXEC_), db = -1, own = 0, len;
      long off;
      what = W_FILE;
      for (j = 0; j < (int)out[O_NDB] && j < 32; j++)
        if ((int)out[O_DB + 3 * j] == fd) db = out[O_DB + 3 * j + 2], own = 1;
      if (db < 0 && out[O_NDB] > 0 && (len = link_of(fd, link, sizeof link)) > 0) db = companion_of(link, len, text, out);
      if (db < 0 && (fl0 & F_FILES_SHARED)) continue;
      /* "copy": the database only reads (copied on first use), and in WAL mode reading takes
         the -shm index's locks, which a read-only reopen refuses. */
      if (db >= 0 && !(fl0 & F_DB_COPY)) mode = (mode & ~3) | 0;
      fresh = open(fdpath(path, "/proc/self/fd/", fd, ""), mode);
      if (fresh >= 0 && ((off = lseek(fd, 0, 1)) < 0 || lseek(fresh, off, 0) < 0)) {
        r = err();
        close(fresh);
        fresh = -1;
        *__errno_location() = r;
      }
      if (fresh < 0 || replace(fd, fresh, flags) < 0) {
        /* Fail closed: a file the child cannot reopen is not left shared with the parent. */
        r = err();
        entry3(out, O_NDEAD, O_DEAD, 32, fd, r, link_of(fd, link, sizeof link) < 0 ? -1 : save_text(text, link));
        if (dead < 0) dead = dead_socket();
        if (dead >= 0) dup3(dead, fd, flags & O_CLOEXEC_);
        if (own) {
          for (j = 0; j < (int)out[O_NDB] && j < 32; j++)
            if ((int)out[O_DB + 3 * j] == fd) out[O_DB + 3 * j + 1] = 1;
        } else if (db >= 0) db_entry(out, fd, 1, db);
        continue;
      }
      if (!own) out[O_FILES]++;
    } else list(out, O_NKEPT, O_KEPT, 64, fd); /* character and block devices */
  }
  if (fl0 & F_DEAF) { /* stdin: what is typed goes to the parent (unless it is a file) */
    unsigned long dev, ino;
    unsigned int mode;
    if (fstat_(0, &dev, &ino, &mode) == 0 && (mode & S_IFMT_) != S_IFREG_ && nunwatched < MAXFD) unwatched[nunwatched++] = ino;
  }
  /* Each epoll instance rebuilt from the registrations the parent read right before the fork,
     where the number named, at the fork, the file it was made for. */
  for (i = 0; i < nent; i++) {
    int ep = e_fd[i], count = 0, fresh, r;
    unsigned char ev[16];
    if (e_anon[i] != A_EPOLL) continue;
    if ((fresh = epoll_create1(O_CLOEXEC_)) < 0) {
      fail(out, ep, W_EPOLL, err());
      continue;
    }
    for (j = 0; j < nreg; j++) {
      unsigned int events = r_ev[j];
      if (r_ep[j] != ep) continue;
      if (r_ino[j] >= 0 && r_ino[j] != inode_at_fork(r_tfd[j])) continue;
      if ((events & EPOLLIN_) && nunwatched && is_unwatched(inode_now(r_tfd[j]))) continue;
      *(unsigned int *)ev = events;
      *(unsigned long long *)(ev + EV_DATA_AT) = r_data[j];
      r = epoll_ctl(fresh, 1 /* EPOLL_CTL_ADD */, r_tfd[j], ev);
      if (r < 0 && err() == 22 && (events & EPOLLEXCLUSIVE_)) {
        *(unsigned int *)ev = events & ~EPOLLEXCLUSIVE_;
        r = epoll_ctl(fresh, 1, r_tfd[j], ev);
      }
      if (r == 0) count++;
    }
    if ((r = replace(ep, fresh, e_flags[i])) < 0) fail(out, ep, W_EPOLL, -r);
    else out[O_EPOLLS]++, out[O_REGS] += count;
  }
  if (dead >= 0) close(dead);
  if (quiet >= 0) close(quiet);
  if (deadr >= 0) close(deadr);
  if (deadw >= 0) close(deadw);
  return 0;
}

/* ---- the runtime's helpers: src/bun-internals/workpool.ts checkPool/resetPool, http.ts,
   http-zig.ts; the same checks in the child's own memory, then the same writes ---- */
static unsigned int peek32(unsigned long a) { return *(volatile unsigned int *)a; }
static unsigned long peek64(unsigned long a) { return *(volatile unsigned long *)a; }

/* 0: sound; else a reason code (src/fork/native.ts POOL_WHY). */
static int check_pool(const double *P, double *out) {
  unsigned long base = P[0], t;
  long stackOff = P[1], maxThreads = P[2], syncOff = P[3], idleOff = P[4], queueOff = P[5], threadsOff = P[6], backOff = P[7];
  unsigned int sync, idle, spawned, state;
  int n;
  if (!mapped(base, idleOff + 4, 1)) return 1;
  if (peek32(base + stackOff) != 0x400000 || peek32(base + stackOff + 4) != (unsigned int)maxThreads) return 2;
  sync = peek32(base + syncOff);
  idle = sync & 0x3fff, spawned = (sync >> 14) & 0x3fff, state = sync >> 30;
  out[O_POOL_SPAWNED] = spawned;
  if (state == 3) return 3;
  if (idle > spawned) return 4;
  if (peek32(base + idleOff) > 2) return 5;
  if (peek64(base + queueOff) & 2) return 6;
  t = peek64(base + threadsOff);
  if (spawned == 0) return t == 0 ? 0 : 7;
  for (n = 0; n < (int)spawned; n++) {
    if (t == 0) {
      out[O_POOL_N] = n;
      return 8;
    }
    if (t % 8 || !mapped(t, backOff + 8, 1)) return 9;
    if (peek64(t + backOff) != base) return 10;
    t = peek64(t);
  }
  return t == 0 ? 0 : 11;
}
/* 0: started (complete), 100: never started (incomplete); else a reason code (HTTP_WHY). */
static int check_http_rust(const double *H, double *out) {
  unsigned long slot = H[0], pthread = H[1], once = H[2];
  unsigned int v;
  if (!mapped(slot, 24, 1)) return 1;
  if (peek64(slot) != pthread || peek32(slot + 8) != 0) return 2;
  v = peek32(once);
  out[O_HTTP_V] = v;
  if (v == 0) return 0;
  if (v == 3) return 100;
  return 3;
}
static int check_http_zig(const double *H, double *out) {
  unsigned long lock = H[0];
  unsigned int l, done;
  if (!mapped(lock, 8, 1)) return 4;
  l = peek32(lock);
  done = peek32(lock + 4) & 0xff;
  out[O_HTTP_V] = l ? l : done;
  if (l != 0) return 5;
  if (done == 1) return 0;
  if (done == 0) return 100;
  return 6;
}
/* out[O_POOL], out[O_HTTP]: 0 repaired, 100 nothing to repair, else why not (nothing written). */
static void repair(const double *plan, double *out) {
  int fl = plan[0], c;
  /* The table the parent read microseconds before the fork (F_FORKABLE), after quiescence: the
     child's mappings are the parent's at the fork. */
  if ((!(fl & F_FORKABLE) && read_maps(0) < 0) || nmaps > MAXMAPS) {
    if (fl & F_POOL) out[O_POOL] = 12;
    if (fl & (F_HTTP_RUST | F_HTTP_ZIG)) out[O_HTTP] = 7;
    return;
  }
  if (fl & F_POOL) {
    c = check_pool(plan + P_POOL, out);
    if (c == 0 && out[O_POOL_SPAWNED] == 0) c = 100;
    else if (c == 0) {
      unsigned long base = plan[P_POOL];
      *(volatile unsigned long *)(base + (long)plan[P_POOL + 6]) = 0; /* threads: null */
      *(volatile unsigned int *)(base + (long)plan[P_POOL + 4]) = 0;  /* idle_event: EMPTY */
      *(volatile unsigned int *)(base + (long)plan[P_POOL + 3]) = 0;  /* sync: nothing spawned */
    }
    out[O_POOL] = c;
  }
  if (fl & (F_HTTP_RUST | F_HTTP_ZIG)) {
    c = fl & F_HTTP_RUST ? check_http_rust(plan + P_HTTP, out) : check_http_zig(plan + P_HTTP, out);
    if (c == 0 && (fl & F_HTTP_RUST)) *(volatile unsigned int *)(unsigned long)plan[P_HTTP + 2] = 3; /* INCOMPLETE */
    else if (c == 0) { /* the once's done byte */
      unsigned long lock = plan[P_HTTP];
      *(volatile unsigned int *)(lock + 4) = peek32(lock + 4) & ~0xffu;
    }
    out[O_HTTP] = c;
  }
}

static void ttou(int block) {
  unsigned long set[16];
  int i;
  for (i = 0; i < 16; i++) set[i] = 0;
  set[0] = 1UL << (22 - 1); /* SIGTTOU */
  sigprocmask(block ? 0 : 1, set, 0);
}

/* Makes every mapping forkable and reads every epoll registration (the last things before the
   fork), then forks. The child, before returning 0: dies with its parent, gets the parent's
   signal dispositions back (saved in sigs), closes the descriptors it must not hold, takes its
   process group and the terminal, isolates its descriptors and checks and resets Bun's helpers.
   The parent returns the child's pid, or -errno when fork failed. */
int snap_fork(const double *plan, double *out, const unsigned char *sigs, char *text) {
  int fl = plan[0], i, pid;
  long t;
  for (i = 0; i < OUT_SIZE; i++) out[i] = 0;
  if (fl & F_FORKABLE) out[O_ADVISED] = read_maps(1);
  out[O_NREG_READ] = fl & F_ISOLATE ? read_registrations() : 0;
  pid = fork();
  if (pid < 0) {
    out[O_ERRNO] = err();
    return -err();
  }
  if (pid > 0) {
    out[O_PID] = pid;
    return pid;
  }
  prctl(1 /* PR_SET_PDEATHSIG */, 9UL, 0UL, 0UL, 0UL);
  if (getppid() != (int)plan[P_PARENT]) kill(getpid(), 9);
  for (i = 0; i < (int)plan[P_NSIG] && i < 64; i++) sigaction((int)plan[P_SIG + i], sigs + SACT * i, 0);
  for (i = 0; i < (int)plan[P_NCLOSE] && i < 8; i++) close((int)plan[P_CLOSE + i]);
  if (fl & F_GROUP) setpgid(0, 0);
  if (fl & F_TERMINAL) {
    ttou(1);
    tcsetpgrp(0, getpid());
    ttou(0);
  }
  t = now_us();
  out[O_STATUS] = !(fl & F_ISOLATE) ? 2 : out[O_NREG_READ] < 0 ? 1 : isolate(plan, out, text);
  out[O_ISOLATE_US] = now_us() - t;
  t = now_us();
  if (fl & (F_POOL | F_HTTP_RUST | F_HTTP_ZIG)) repair(plan, out);
  out[O_REPAIR_US] = now_us() - t;
  out[O_PID] = getpid();
  /* Plain: isolated here, no database, nothing failed, no TCP connection inherited (node:http
     agents to clean), the helpers repaired or unused (or not asked). */
  out[O_PLAIN] = out[O_STATUS] == 0 && out[O_NDB] == 0 && out[O_NDEAD] == 0 && out[O_NFAILED] == 0 && out[O_CONNS] == 0 &&
    (!(fl & F_POOL) || out[O_POOL] == 0 || out[O_POOL] == 100) &&
    (!(fl & (F_HTTP_RUST | F_HTTP_ZIG)) || out[O_HTTP] == 0 || out[O_HTTP] == 100);
  return 0;
}
`;
