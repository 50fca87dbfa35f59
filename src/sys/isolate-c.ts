// The native fork's isolation of the child (see fork-c.ts, which joins the parts): the rules of
// src/fork/isolate.ts, in the same order, in C, for a child that must touch as few
// copy-on-write pages as it can before user code.
export const ISOLATE_C = String.raw`/* ---- the child's isolation: src/fork/isolate.ts, the same rules in the same order ---- */
static int e_fd[MAXFD], e_type[MAXFD], e_flags[MAXFD], e_anon[MAXFD];
static unsigned long e_ino[MAXFD];
static long unwatched[MAXFD];
static int nent, nunwatched, ntext;
enum { A_NONE, A_EPOLL };
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
static long inode_now(int fd) {
  unsigned long dev, ino;
  unsigned int mode;
  return fstat_(fd, &dev, &ino, &mode) == 0 ? (long)ino : -1;
}
static long inode_at_fork(int fd) {
  int i;
  for (i = 0; i < nent; i++)
    if (e_fd[i] == fd) return e_ino[i];
  return inode_now(fd);
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
/* The database (in text) whose -wal or -journal file link is; its offset in text, or -1. */
static int companion_of(const char *link, const char *text, const double *out) {
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
  int fl0 = plan[0], dir, fd, i, j, stdio_n = 0, dead = -1, quiet = -1, deadr = -1, deadw = -1, overflow = 0;
  unsigned long sdev[3], sino[3];
  char path[64], link[4096], info[1024];
  for (i = 0; i < 3; i++) {
    unsigned int mode;
    if (fstat_(i, &sdev[stdio_n], &sino[stdio_n], &mode) == 0) stdio_n++;
  }
  /* Every inherited descriptor with its type, before anything is created. */
  nent = nunwatched = ntext = 0;
  if ((dir = open_numbered("/proc/self/fd")) < 0) return 1;
  while ((fd = next_num(dir)) >= 0) {
    unsigned long dev, ino;
    unsigned int mode;
    if (fd == dir || keep_fd(plan, fd)) continue;
    if (nent >= MAXFD) { /* too many to isolate here; still counted: TCP connections */
      overflow = 1;
      if (fstat_(fd, &dev, &ino, &mode) == 0 && (mode & S_IFMT_) == S_IFSOCK_) count_connection(fd, out);
      continue;
    }
    if (fstat_(fd, &dev, &e_ino[nent], &mode) != 0) continue;
    if ((mode & S_IFMT_) == S_IFSOCK_) count_connection(fd, out);
    e_fd[nent] = fd;
    e_type[nent] = mode & S_IFMT_;
    e_anon[nent] = A_NONE;
    e_flags[nent] = 0;
    for (j = 0; j < stdio_n; j++)
      if (dev == sdev[j] && e_ino[nent] == sino[j]) e_flags[nent] = -1; /* stdout's duplicate: kept */
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
      int mode = flags & ~(0100 | 0200 | 01000 | O_NOFOLLOW_ | O_CLOEXEC_), db = -1, own = 0;
      long off;
      what = W_FILE;
      for (j = 0; j < (int)out[O_NDB] && j < 32; j++)
        if ((int)out[O_DB + 3 * j] == fd) db = out[O_DB + 3 * j + 2], own = 1;
      if (db < 0 && out[O_NDB] > 0 && link_of(fd, link, sizeof link) > 0) db = companion_of(link, text, out);
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

`;
