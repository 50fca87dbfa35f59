// The first part of the native fork's C (see fork-c.ts, which joins the parts into one unit):
// the prototypes, the layouts that differ between x86_64 and aarch64, the plan's flags and slots,
// the small helpers, a line reader for /proc files and the epoll registrations the parent reads
// right before the fork (the table of mappings is maps-c.ts).
export const BASE_C = String.raw`/* No system headers (they may be absent): every prototype is declared here, and the layouts that
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
int ioctl(int fd, unsigned long request, ...);
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
#define F_ADVISE_EACH 8192 /* tests: act as if the one call per run of mappings had failed */
#define F_TEXT_MAPS 16384 /* tests: act as if PROCMAP_QUERY were missing (maps-c.ts) */
#define F_TEST_MOVED 32768 /* tests: act as if a special mapping had moved since the last read (maps-c.ts) */
/* plan slots (src/fork/native.ts PLAN) */
#define P_PARENT 1
#define P_NKEEP 2
#define P_NCLOSE 3
#define P_NSIG 4
#define P_REAP_MS 5 /* > 0: the child's teardown is deferred (exit-c.ts); a helper unreaped this long stops it */
#define P_POOL 8   /* 8: base, stackSizeOff, maxThreads, syncOff, idleEventOff, runQueueOff, threadsOff, backOff */
#define P_HTTP 16  /* rust: slot, pthread, once; zig: lock */
#define P_CLOSE 24 /* 8 */
#define P_SIG 32   /* 64 */
#define P_KEEP 96  /* up to 160 */
#define P_KEEP_CAP 160
/* out slots (src/fork/native.ts OUT) */
#define O_PID 0
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
#define O_REPAIR_US 25
#define O_PLAIN 26 /* 1: nothing is left for JavaScript but the plan's writes (src/fork/native.ts) */
#define O_DEFER 27 /* parent: the child's slot for its exit helper, or -(why not): exit-c.ts defer_slot */
#define O_DEFER_SEEN 28 /* parent: 1 once a helper was seen reaped (exit-c.ts dproven) */
#define O_MAPS_WAY 29 /* parent: how the mappings were made forkable: 1 the text read, 2 PROCMAP_QUERY (maps-c.ts make_forkable) */
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
/* In a /proc stat text of r bytes, where the name is: between buf[*a], "(", and buf[*b], the last
   ")". 0 when there is no such pair. */
static int stat_name(const char *buf, int r, int *a, int *b) {
  for (*a = 0; *a < r && buf[*a] != '('; ++*a) ;
  for (*b = r - 1; *b > *a && buf[*b] != ')'; --*b) ;
  return *a < r && *b > *a;
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

/* ---- the epoll registrations, read by the parent right before the fork ---- */
static int r_ep[MAXREG], r_tfd[MAXREG];
static unsigned int r_ev[MAXREG];
static unsigned long long r_data[MAXREG];
static long r_ino[MAXREG]; /* -1: the line has no ino */
static int nreg, reg_ep;
static char dents[32768];
/* The numbered entries of a /proc directory (descriptors, threads), one by one: open it with
   open_numbered(), then next_num() until -1. One directory at a time (dents is shared). */
static int d_n, d_i;
static int open_numbered(const char *path) {
  d_n = d_i = 0;
  return open(path, O_DIRECTORY_ | O_CLOEXEC_);
}
static int next_num(int dir) {
  for (;;) {
    const char *p;
    if (d_i >= d_n) {
      if ((d_n = syscall(SYS_GETDENTS64, dir, dents, sizeof dents)) <= 0) return -1;
      d_i = 0;
    }
    p = dents + d_i + 19;
    d_i += *(unsigned short *)(dents + d_i + 16);
    if (*p >= '0' && *p <= '9') return num(&p, 10);
  }
}
/* What descriptor fd names (/proc/self/fd/<fd>), NUL-terminated in buf; its length, or -1. */
static int link_of(int fd, char *buf, int cap) {
  char path[64];
  int r = readlink(fdpath(path, "/proc/self/fd/", fd, ""), buf, cap - 1);
  if (r < 0) return -1;
  buf[r] = 0;
  return r;
}

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
/* Every registration of every epoll instance of this process; -1 when over MAXREG. A socket, a
   pipe, a device or a directory (one fstat) is not an epoll instance; the others (an anonymous
   inode shows no file type, or a regular file's on some kernels) have their name read, a readlink
   through /proc at several times the cost. */
static int read_registrations(void) {
  int dir = open_numbered("/proc/self/fd"), fd;
  char path[64], link[32];
  unsigned long dev, ino;
  unsigned int mode;
  nreg = 0;
  if (dir < 0) return -1;
  while ((fd = next_num(dir)) >= 0) {
    if (fd == dir || (fstat_(fd, &dev, &ino, &mode) == 0 && (mode & S_IFMT_) != 0 && (mode & S_IFMT_) != S_IFREG_)) continue;
    if (link_of(fd, link, sizeof link) < 0 || !same(link, "anon_inode:[eventpoll]")) continue;
    reg_ep = fd;
    each_line(fdpath(path, "/proc/self/fdinfo/", fd, ""), reg_line);
  }
  close(dir);
  return nreg > MAXREG ? -1 : nreg;
}

`;
