// The native fork's table of mappings (joined into one unit by fork-c.ts, after native-c.ts's
// helpers): read from /proc/self/maps right before every fork, advising each mapping MADV_DOFORK
// as it goes (src/fork/forkable.ts does the same in JavaScript); the child checks the runtime's
// helpers against it (mapped) and, as it ends, what its memory holds (exit-c.ts maps_plain).
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
    map_kind[nmaps] = !ino ? MAP_ANON : !shared ? MAP_FILE : starts(p, "/dev/zero") ? MAP_SHARED_ANON : MAP_SHARED_OTHER;
  }
  nmaps++;
  if (!map_advise) return;
  for (q = line; *q; q++)
    if (*q == '[' && (starts(q, "[vvar]") || starts(q, "[vvar_vclock]") || starts(q, "[vdso]") || starts(q, "[vsyscall]"))) {
      if (map_advise == 1) advise_run();
      return;
    }
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
  r = each_line("/proc/self/maps", map_line);
  if (r >= 0 && advise) {
    advise_run();
    if (one_by_one || advise == 3) {
      nmaps = 0;
      map_advise = 2;
      r = each_line("/proc/self/maps", map_line);
    }
  }
  return r;
}
/* Whether [a, a+len) lies in one readable (with w, writable) mapping. */
static int mapped(unsigned long a, unsigned long len, int w) {
  int lo = 0, hi = nmaps - 1;
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
