/*
 * A C process laid out in different ways, for comparing the cost of a bare fork+_exit+waitpid
 * with Bun's (issue 16 research). Prints VmRSS, VmPTE, pid, then one line per round.
 *
 *   cmimic <mib> <rounds> <mode> [pause_ms]      (rounds 0: server mode, see below)
 *
 * modes (all: <mib> MiB resident, private, written once):
 *   seq      one mapping, memset in order (bench/cfork.c)
 *   randN    one mapping, chunks of N pages (default 1) first written in a random order
 *            (physical pages scattered relative to virtual order, as in a long-running heap)
 *   shuffle  one mapping, written in order, but its physical pages come from a free list that was
 *            scrambled first (allocate 2x, free each 4 KiB page in random order, then fault);
 *            it scrambles the machine-wide free lists for a while: avoid on a shared machine
 *   sparse   a 2x reservation, every other 16 KiB block written (twice the PTE pages)
 *   huge     one mapping with MADV_HUGEPAGE (2 MiB pages where THP allows)
 * pause_ms: sleep before the timed rounds (to inspect /proc/PID).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static long status_kib(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  size_t k = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, k) == 0) { kib = strtol(line + k, NULL, 10); break; }
  if (f) fclose(f);
  return kib;
}
static double thread_cpu_ms(int fd) {
  char b[128];
  ssize_t n = pread(fd, b, sizeof b - 1, 0);
  if (n <= 0) return 0;
  b[n] = 0;
  return strtod(b, NULL) / 1e6;
}
static double children_cpu_ms(void) {
  struct rusage r;
  getrusage(RUSAGE_CHILDREN, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}
static unsigned long long rng = 88172645463325252ULL;
static unsigned long long xr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static void shuffle(size_t *a, size_t n) {
  for (size_t i = n - 1; i > 0; i--) { size_t j = xr() % (i + 1), t = a[i]; a[i] = a[j]; a[j] = t; }
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: cmimic <mib> <rounds> <mode> [pause_ms]\n"); return 1; }
  size_t mib = atol(argv[1]), len = mib << 20, pages = len >> 12;
  int rounds = atoi(argv[2]), warm = 2;
  const char *mode = argv[3];
  int pause_ms = argc > 4 ? atoi(argv[4]) : 0;
  char *p;
  if (!strcmp(mode, "seq") || !strcmp(mode, "huge")) {
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!strcmp(mode, "huge")) madvise(p, len, MADV_HUGEPAGE);
    memset(p, 0x5a, len);
  } else if (!strncmp(mode, "rand", 4)) {
    /* randN: chunks of N pages (default 1) first written in a random order */
    size_t per = atol(mode + 4) > 0 ? atol(mode + 4) : 1, chunks = pages / per;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t *ord = malloc(chunks * sizeof *ord);
    for (size_t i = 0; i < chunks; i++) ord[i] = i;
    shuffle(ord, chunks);
    for (size_t i = 0; i < chunks; i++) memset(p + (ord[i] * per << 12), 0x5a, per << 12);
    free(ord);
  } else if (!strcmp(mode, "shuffle")) {
    /* Scramble the free lists: fault 2x pages, free a random half one page at a time, then
       allocate the real region in order (it takes the freed pages, in the order they were freed). */
    size_t n2 = pages * 2;
    char *junk = mmap(NULL, n2 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(junk, 1, n2 << 12);
    size_t *ord = malloc(n2 * sizeof *ord);
    for (size_t i = 0; i < n2; i++) ord[i] = i;
    shuffle(ord, n2);
    for (size_t i = 0; i < n2; i++) madvise(junk + (ord[i] << 12), 4096, MADV_DONTNEED);
    munmap(junk, n2 << 12);
    free(ord);
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(p, 0x5a, len);
  } else if (!strcmp(mode, "sparse")) {
    p = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t b = 0; b < 2 * len; b += 32768) memset(p + b, 0x5a, 16384);
  } else { fprintf(stderr, "bad mode\n"); return 1; }
  printf("vmrss_kib %ld\nvmpte_kib %ld\npid %d\n", status_kib("VmRSS:"), status_kib("VmPTE:"), getpid());
  fflush(stdout);
  if (pause_ms) usleep(pause_ms * 1000);
  int fd = open("/proc/thread-self/schedstat", O_RDONLY);
  if (rounds == 0) {
    /* Server mode (interleave.py): "R n\n" on stdin -> 2 warm-up + n timed rounds, one JSON line. */
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
      int n = atoi(line + 2);
      double w[256], c[256], k[256];
      if (n > 256) n = 256;
      for (int i = 0; i < warm + n; i++) {
        double p0 = thread_cpu_ms(fd), c0 = children_cpu_ms(), t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        double t1 = now_ms();
        int st;
        waitpid(pid, &st, 0);
        double t2 = now_ms();
        if (i >= warm) { w[i - warm] = t2 - t0; k[i - warm] = t1 - t0; c[i - warm] = thread_cpu_ms(fd) - p0 + children_cpu_ms() - c0; }
      }
      printf("{\"all\":[");
      for (int i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", w[i]);
      printf("],\"fork\":[");
      for (int i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", k[i]);
      printf("],\"cpu\":[");
      for (int i = 0; i < n; i++) printf("%s%.3f", i ? "," : "", c[i]);
      printf("]}\n");
      fflush(stdout);
    }
    return 0;
  }
  double *wall = calloc(rounds, sizeof(double)), *cpu = calloc(rounds, sizeof(double)), *fk = calloc(rounds, sizeof(double));
  for (int i = 0; i < warm + rounds; i++) {
    double p0 = thread_cpu_ms(fd), c0 = children_cpu_ms(), t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    double t1 = now_ms();
    int st;
    waitpid(pid, &st, 0);
    double t2 = now_ms();
    if (i >= warm) { wall[i - warm] = t2 - t0; fk[i - warm] = t1 - t0; cpu[i - warm] = thread_cpu_ms(fd) - p0 + children_cpu_ms() - c0; }
  }
  for (int i = 0; i < rounds; i++) printf("round %.3f fork %.3f cpu %.3f\n", wall[i], fk[i], cpu[i]);
  return 0;
}
