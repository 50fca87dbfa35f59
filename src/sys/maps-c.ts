// The native fork's view of the mappings (joined into one unit by fork-c.ts, after native-c.ts's
// helpers). Right before every fork each mapping is made MADV_DOFORK (src/fork/forkable.ts does
// the same in JavaScript); the child checks the runtime's helpers against the mappings (mapped)
// and, as it ends, what its memory holds (exit-c.ts maps_plain). Two ways to see them: the text
// of /proc/self/maps read into a table, or (Linux 6.11+) PROCMAP_QUERY, an ioctl on that file that
// answers for one mapping, no text made. Where it works, the fork advises the address space
// around the special mappings found by its first read in a call or two instead of reading the
// text again (measured at the empty heap: ~140 us for the read and its advice, ~20 us for the
// calls), and the child's checks ask for the mappings they need.
export const MAPS_C = String.raw`/* ---- the mappings: MADV_DOFORK on each, and a table for the checks ---- */
#define MAXMAPS 16384
/* What a mapping is: anonymous (no inode), a file mapped private, shared anonymous memory
   (MAP_SHARED|MAP_ANONYMOUS shows as "/dev/zero (deleted)"), any other shared mapping (a file,
   a memfd, System V shared memory). */
#define MAP_ANON 0
#define MAP_FILE 1
#define MAP_SHARED_ANON 2
#define MAP_SHARED_OTHER 3
static unsigned long map_lo[MAXMAPS], map_hi[MAXMAPS], map_dev[MAXMAPS], map_ino[MAXMAPS];
static unsigned char map_prot[MAXMAPS], map_kind[MAXMAPS]; /* prot: 1 r, 2 w, 4 x */
static int nmaps, map_advise, run_n, one_by_one;
static unsigned long run_lo, run_hi;
/* The special mappings ([vvar], [vdso], ...: madvise refuses some) found by the last read that
   advised, in order, and the end of the highest other mapping; nsp -1 until one such read. */
#define MAXSP 8
static unsigned long sp_lo[MAXSP], sp_hi[MAXSP], sp_top;
static int nsp = -1;
/* 1 while the table is the whole of this process's mappings as last read (not after the calls of
   make_forkable, nor after read_files). */
static int maps_fresh;
/* The mappings read since the last special one (advise mode 1), advised in one call: madvise
   covers every mapping in the range, skips the gaps between them and then says ENOMEM for those.
   Another error (EINVAL from a mapping that refuses, VM_IO) stops it part way: the whole table
   is then advised again one mapping at a time (mode 2). */
static void advise_run(void) {
  if (run_n && madvise((void *)run_lo, run_hi - run_lo, 11 /* MADV_DOFORK */) != 0 && err() != 12 /* ENOMEM */) one_by_one = 1;
  run_n = 0;
}
/* "start-end perms offset major:minor inode path" */
static void map_line(char *line) {
  const char *p = line;
  unsigned long lo = num(&p, 16), hi, dev, ino;
  char *q;
  int shared;
  if (*p++ != '-') return;
  hi = num(&p, 16);
  p = skipws(p);
  if (nmaps < MAXMAPS) {
    map_lo[nmaps] = lo;
    map_hi[nmaps] = hi;
    map_prot[nmaps] = (p[0] == 'r') | (p[1] == 'w') << 1 | (p[2] == 'x') << 2;
    shared = p[3] == 's';
    while (*p && *p != ' ') p++;
    p = skipws(p);
    while (*p && *p != ' ') p++; /* offset */
    p = skipws(p);
    dev = num(&p, 16) << 20;
    if (*p == ':') p++;
    dev |= num(&p, 16);
    p = skipws(p);
    ino = num(&p, 10);
    p = skipws(p);
    map_dev[nmaps] = dev;
    map_ino[nmaps] = ino;
    /* (a file's inode number can be 0: System V shared memory's is its id, and the first segment
       of an IPC namespace has id 0; its path starts with "/") */
    map_kind[nmaps] = !ino && *p != '/' ? MAP_ANON : !shared ? MAP_FILE : starts(p, "/dev/zero") ? MAP_SHARED_ANON : MAP_SHARED_OTHER;
  }
  nmaps++;
  if (!map_advise) return;
  for (q = line; *q; q++)
    if (*q == '[' && (starts(q, "[vvar]") || starts(q, "[vvar_vclock]") || starts(q, "[vdso]") || starts(q, "[vsyscall]") || starts(q, "[uprobes"))) {
      if (map_advise == 1) advise_run();
      if (nsp >= 0 && nsp < MAXSP) {
        sp_lo[nsp] = lo;
        sp_hi[nsp] = hi;
      }
      if (nsp >= 0) nsp++;
      return;
    }
  if (hi > sp_top) sp_top = hi;
  if (map_advise == 2) {
    madvise((void *)lo, hi - lo, 11 /* MADV_DOFORK */);
    return;
  }
  if (!run_n) run_lo = lo;
  run_hi = hi;
  run_n++;
}
/* Reads the table; with advise, makes every mapping forkable (MADV_DOFORK) as it goes (3: and
   then one at a time, as after a failed call: F_ADVISE_EACH). */
static int read_maps(int advise) {
  int r;
  nmaps = run_n = one_by_one = 0;
  map_advise = advise ? 1 : 0;
  if (advise) nsp = sp_top = 0;
  r = each_line("/proc/self/maps", map_line);
  if (r >= 0 && advise) {
    advise_run();
    if (one_by_one || advise == 3) {
      nmaps = 0;
      map_advise = 2;
      r = each_line("/proc/self/maps", map_line);
    }
  }
  if (r < 0 || one_by_one || advise == 3 || nsp > MAXSP) nsp = -1; /* next time: the text again */
  maps_fresh = r >= 0;
  return r;
}

/* ---- PROCMAP_QUERY (Linux 6.11, include/uapi/linux/fs.h): one mapping per call ---- */
struct pmq { /* __u64 and __u32 fields */
  unsigned long long size, flags, addr;  /* in: this struct's size, what to find, where */
  unsigned long long lo, hi, vflags;     /* out: the mapping, its PMQ_R/W/X/SHARED */
  unsigned long long page, offset, ino;
  unsigned int dev_major, dev_minor, name_size, build_id_size;
  unsigned long long name, build_id;     /* in: buffers (0: not asked) */
};
#define PMQ_IOCTL 0xC0686611UL /* _IOWR('f', 17, struct pmq) */
#define PMQ_R 1
#define PMQ_W 2
#define PMQ_X 4
#define PMQ_SHARED 8
#define PMQ_COVERING_OR_NEXT 0x10
#define PMQ_FILE_BACKED 0x20
/* 1 works here, -1 not (an older kernel: ENOTTY), 0 not tried. Children inherit it: same kernel. */
static int pq_works;
/* Asks fd (/proc/self/maps, opened by this process) for the mapping at addr (or the next one),
   with its name in name when asked. 0, or -1 with errno. */
static int pq(int fd, unsigned long addr, unsigned long flags, struct pmq *q, char *name, int cap) {
  char *b = (char *)q;
  int i;
  for (i = 0; i < (int)sizeof *q; i++) b[i] = 0;
  q->size = sizeof *q;
  q->flags = flags;
  q->addr = addr;
  if (name) {
    q->name = (unsigned long)name;
    q->name_size = cap;
  }
  return ioctl(fd, PMQ_IOCTL, q);
}
/* An fd of /proc/self/maps that answers PROCMAP_QUERY, or -1 (then the text). */
static int pq_open(void) {
  struct pmq q;
  int fd;
  if (pq_works < 0) return -1;
  fd = open("/proc/self/maps", O_CLOEXEC_);
  if (fd < 0) return -1;
  if (!pq_works) pq_works = pq(fd, 0, PMQ_COVERING_OR_NEXT, &q, 0, 0) == 0 ? 1 : -1;
  if (pq_works < 0) {
    close(fd);
    return -1;
  }
  return fd;
}
/* The fd mapped() asks while >= 0, instead of the table. */
static int map_fd = -1;

/* Makes every mapping forkable (MADV_DOFORK), the last thing before the fork. Where PROCMAP_QUERY
   works and a read found the special mappings: one call for each stretch of the address space
   around them (a stretch is up to the highest mapping seen, or the usual top of the address
   space if higher); madvise covers every mapping in it and says ENOMEM for the gaps. First each
   special mapping below that top is asked for: one moved or gone (mremap of [vdso], a restore)
   and any failure but ENOMEM (a new mapping that refuses), and each: the text, read and advised
   as before (read_maps). ([vsyscall] is above the top, and no mapping of the process.) */
static int make_forkable(int fl, double *out) {
  unsigned long lo = 0, hi, top = sp_top;
  struct pmq q;
  int i, fd, moved = 0, each = fl & F_ADVISE_EACH;
#if defined(__aarch64__)
  if (top < 1UL << 48) top = 1UL << 48;
#else
  if (top < 0x7ffffffff000UL) top = 0x7ffffffff000UL;
#endif
  if (!each && nsp >= 0 && (fd = pq_open()) >= 0) {
    if ((fl & F_TEST_MOVED) && nsp > 0) sp_hi[0] += 4096; /* tests: as if the first had moved */
    for (i = 0; i < nsp && !moved; i++)
      if (sp_hi[i] <= top) moved = pq(fd, sp_lo[i], 0, &q, 0, 0) != 0 || q.lo != sp_lo[i] || q.hi != sp_hi[i];
    close(fd);
    for (i = moved ? nsp + 1 : 0; i <= nsp; i++) {
      hi = i < nsp ? sp_lo[i] : top;
      if (hi > lo && madvise((void *)lo, hi - lo, 11 /* MADV_DOFORK */) != 0 && err() != 12 /* ENOMEM */) break;
      if (i < nsp) lo = sp_hi[i];
    }
    if (!moved && i > nsp) {
      maps_fresh = 0;
      out[O_MAPS_WAY] = 2;
      return 0;
    }
  }
  out[O_MAPS_WAY] = 1;
  return read_maps(each ? 3 : 1);
}

/* The table, of the file mappings only (what the end's check needs), through fd: each with its
   kind (a shared one's name tells shared anonymous memory, "/dev/zero (deleted)", from the
   rest). How many, or -1. */
static int read_files(int fd) {
  struct pmq q, named;
  char name[64];
  unsigned long a = 0;
  int shared;
  nmaps = maps_fresh = 0;
  while (pq(fd, a, PMQ_COVERING_OR_NEXT | PMQ_FILE_BACKED, &q, 0, 0) == 0) {
    if (nmaps >= MAXMAPS) return -1;
    shared = (q.vflags & PMQ_SHARED) != 0;
    map_lo[nmaps] = q.lo;
    map_hi[nmaps] = q.hi;
    map_prot[nmaps] = (q.vflags & PMQ_R ? 1 : 0) | (q.vflags & PMQ_W ? 2 : 0) | (q.vflags & PMQ_X ? 4 : 0);
    map_dev[nmaps] = (unsigned long)q.dev_major << 20 | q.dev_minor;
    map_ino[nmaps] = q.ino;
    /* Each is a file, whatever its inode number (System V shared memory's is its id, 0 for the
       first segment of an IPC namespace). A name longer than the buffer: ENAMETOOLONG, not /dev/zero. */
    map_kind[nmaps] = !shared ? MAP_FILE
      : pq(fd, q.lo, 0, &named, name, sizeof name) == 0 && starts(name, "/dev/zero") ? MAP_SHARED_ANON : MAP_SHARED_OTHER;
    nmaps++;
    a = q.hi;
  }
  return err() == 2 /* ENOENT: no mapping after a */ ? nmaps : -1;
}
/* Whether [a, a+len) lies in one readable (with w, writable) mapping. */
static int mapped(unsigned long a, unsigned long len, int w) {
  int lo = 0, hi = nmaps - 1;
  struct pmq q;
  if (map_fd >= 0)
    return pq(map_fd, a, 0, &q, 0, 0) == 0 && a >= q.lo && a + len <= q.hi && (q.vflags & PMQ_R) && (!w || (q.vflags & PMQ_W));
  if (nmaps > MAXMAPS) return 0;
  while (lo <= hi) {
    int mid = (lo + hi) >> 1;
    if (a < map_lo[mid]) hi = mid - 1;
    else if (a >= map_hi[mid]) lo = mid + 1;
    else return a + len <= map_hi[mid] && (map_prot[mid] & 1) && (!w || (map_prot[mid] & 2));
  }
  return 0;
}

`;
