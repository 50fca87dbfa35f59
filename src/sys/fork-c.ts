// The fork and everything the child must do before its first line of JavaScript, in C, as a
// string (compiled by ffi.ts with bun:ffi cc, TinyCC, once per process; children inherit it).
// Why C: every line of JavaScript a child runs writes to copy-on-write pages (the heap, the JIT's
// profiling counters), and each first write to a page is a fault that copies it; the same work
// in JavaScript cost a child ~1,000 faults and ~5 ms (docs/measured.md). Here it is a few hundred
// system calls on the C stack. The rules are those of src/fork/isolate.ts (the JavaScript version,
// used where TinyCC is missing); the plan and out layouts are in src/fork/native.ts.
//
// Parts by concern, joined here into one compilation unit: native-c.ts (prototypes, layouts,
// helpers, /proc readers, the epoll registrations), maps-c.ts (the table of mappings),
// isolate-c.ts (the child's isolation), exit-c.ts (the child's end), and below the helpers'
// checks and resets, the thread readers and the fork itself.
import { BASE_C } from "./native-c.ts";
import { MAPS_C } from "./maps-c.ts";
import { ISOLATE_C } from "./isolate-c.ts";
import { EXIT_C } from "./exit-c.ts";

const FORK_PART_C = String.raw`/* ---- the runtime's helpers: src/bun-internals/workpool.ts checkPool/resetPool, http.ts,
   http-zig.ts; the same checks in the child's own memory, then the same writes ---- */
static unsigned int peek32(unsigned long a) { return *(volatile unsigned int *)a; }
static unsigned long peek64(unsigned long a) { return *(volatile unsigned long *)a; }

/* 0: sound; else a reason code (src/bun-internals/workpool.ts POOL_WHY). */
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
  /* The child's own mappings, asked one by one where PROCMAP_QUERY works; else the table the
     parent read microseconds before the fork (F_FORKABLE), after quiescence (the child's mappings
     are the parent's at the fork), or read here. */
  map_fd = pq_open();
  if (map_fd < 0 && ((!((fl & F_FORKABLE) && maps_fresh) && read_maps(0) < 0) || nmaps > MAXMAPS)) {
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
  if (map_fd >= 0) close(map_fd);
  map_fd = -1;
}

static void ttou(int block) {
  unsigned long set[16];
  int i;
  for (i = 0; i < 16; i++) set[i] = 0;
  set[0] = 1UL << (22 - 1); /* SIGTTOU */
  sigprocmask(block ? 0 : 1, set, 0);
}

/* ---- this process's threads (src/proc/threads.ts): one call instead of a file read each ---- */
/* out[0]: how many; then 3 slots a thread: tid, its state letter's code, where its name starts in
   names (each name NUL-terminated). Returns how many, or -errno (-E2BIG: more threads than cap
   or their names than ncap; the caller then reads them another way). */
int snap_threads(double *out, int cap, char *names, int ncap) {
  int dir = open_numbered("/proc/self/task"), tid, count = 0, at = 0, over = 0;
  char path[64], buf[512];
  if (dir < 0) return -err();
  while ((tid = next_num(dir)) >= 0) {
    int r = slurp(fdpath(path, "/proc/self/task/", tid, "/stat"), buf, sizeof buf), a, b, k;
    if (r <= 0 || !stat_name(buf, r, &a, &b) || b + 2 >= r) continue;
    if (count >= cap || at + (b - a) >= ncap) {
      over = 1;
      continue;
    }
    out[1 + 3 * count] = tid;
    out[2 + 3 * count] = (unsigned char)buf[b + 2];
    out[3 + 3 * count] = at;
    for (k = a + 1; k < b; k++) names[at++] = buf[k];
    names[at++] = 0;
    count++;
  }
  close(dir);
  out[0] = count;
  return over ? -7 /* E2BIG */ : count;
}

/* /proc/self/task/<tid>/syscall into out: the call's number, its six arguments, sp, pc. Returns
   9; 0 when the thread is not blocked in a system call ("running", or "-1 sp pc"); or -errno. */
int snap_syscall(int tid, double *out) {
  char path[64], buf[256];
  const char *p = buf;
  int r = slurp(fdpath(path, "/proc/self/task/", tid, "/syscall"), buf, sizeof buf), k;
  if (r < 0) return -err();
  if (*p < '0' || *p > '9') return 0;
  out[0] = num(&p, 10);
  for (k = 1; k < 9; k++) {
    p = skipws(p);
    if (p[0] != '0' || p[1] != 'x') return 0;
    p += 2;
    out[k] = num(&p, 16);
  }
  return 9;
}

/* Makes every mapping forkable and reads every epoll registration (the last things before the
   fork), then forks. The child, before returning 0: dies with its parent, gets the parent's
   signal dispositions back (saved in sigs), knows where to say its exit helper's pid (exit-c.ts), closes the descriptors it must not hold, takes its
   process group and the terminal, isolates its descriptors and checks and resets Bun's helpers.
   The parent returns the child's pid, or -errno when fork failed. */
int snap_fork(const double *plan, double *out, const unsigned char *sigs, char *text) {
  int fl = plan[0], i, pid, slot;
  long t;
  for (i = 0; i < OUT_SIZE; i++) out[i] = 0;
  if (fl & F_TEXT_MAPS) pq_works = -1;
  if (fl & F_FORKABLE) make_forkable(fl, out);
  out[O_NREG_READ] = fl & F_ISOLATE ? read_registrations() : 0;
  slot = plan[P_REAP_MS] > 0 ? defer_slot((long)plan[P_REAP_MS] * 1000) : -1;
  out[O_DEFER] = slot;
  out[O_DEFER_SEEN] = dproven;
  pid = fork();
  if (pid < 0) return -err();
  if (pid > 0) {
    if (slot >= 0) dslot[slot] = pid;
    out[O_PID] = pid;
    return pid;
  }
  if (slot >= 0) {
    ering = dring;
    eslot = slot;
    epid = getpid();
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
  out[O_STATUS] = !(fl & F_ISOLATE) ? 2 : out[O_NREG_READ] < 0 ? 1 : isolate(plan, out, text);
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

/** The native fork's C source, one unit. */
export const FORK_C = BASE_C + MAPS_C + ISOLATE_C + EXIT_C + FORK_PART_C;
