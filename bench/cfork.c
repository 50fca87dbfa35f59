/*
 * The baseline of bench/roundtrip.ts: the raw cost of fork() + waitpid() for a process that holds
 * N MiB of touched memory, the child doing nothing but _exit(0).
 *
 *   cfork <mib> <rounds> [warmups] [mappings] [seq|rand]
 *
 * Allocates <mib> MiB in <mappings> anonymous private mappings (default 1), writes every byte
 * (so every page is resident and private), then times <warmups> + <rounds> rounds of
 * fork+waitpid with CLOCK_MONOTONIC. Prints "vmrss_kib <n>", "maps <n>", one "round_ms <t>" line
 * per timed round, one "round_cpu <parent> <child>" line per timed round (CPU ms of this thread
 * during the round, from /proc/thread-self/schedstat, and of the reaped child, from
 * getrusage(RUSAGE_CHILDREN): unlike wall time, not inflated by other processes waiting for the
 * same cores), then "child_minflt <n>" (minor faults of one child, the average over all rounds).
 * Exit status 0 on success, 1 on a usage or system error.
 *
 * How the pages are first written (the last argument):
 *   seq   (default) one memset per mapping, in address order. A fresh process written in order
 *         mostly gets physically consecutive frames from the kernel (how much depends on the
 *         machine's free memory), which makes fork's page-table copy and the child's teardown
 *         cheaper than for a long-running heap.
 *   rand  each 4 KiB page first written in a random order (a fixed-seed shuffle), so that the
 *         physical frames are scattered relative to the virtual order, as the resident pages of a
 *         Bun process that has run for a while are. Same RSS, same page tables, same VMAs.
 *
 * Built by the bench with the system `cc -O2`; also compiles with TinyCC (bun:ffi `cc`), which
 * calls cfork_alloc(), cfork_rounds() and cfork_vmrss_kib() instead of main().
 */
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

/* VmRSS of this process in KiB, or -1. */
static long vmrss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kib;
}

/* CPU time this thread has run, in ms (precise: the scheduler's runtime), or 0. */
static double thread_cpu_ms(int fd) {
  char b[128];
  ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof b - 1, 0);
  if (n <= 0) return 0;
  b[n] = 0;
  return strtod(b, NULL) / 1e6;
}

/* CPU time (user + system) of the reaped children, in ms. */
static double children_cpu_ms(void) {
  struct rusage r;
  if (getrusage(RUSAGE_CHILDREN, &r) != 0) return 0;
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

/* Number of lines of /proc/self/maps (VMAs). */
static long map_count(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  long n = 0;
  int c;
  if (!f) return -1;
  while ((c = fgetc(f)) != EOF)
    if (c == '\n') n++;
  fclose(f);
  return n;
}

/* A fixed-seed xorshift64 (the order is the same in every run). */
static unsigned long long rng_state = 88172645463325252ULL;
static unsigned long long rng_next(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Writes every byte of p[0..len) one 4 KiB page at a time, the pages in a random order. 0, or -1
   when the order cannot be allocated. */
static int write_scattered(char *p, size_t len) {
  size_t pages = len / 4096, i;
  unsigned int *ord;
  if (pages == 0) return 0;
  ord = malloc(pages * sizeof *ord);
  if (!ord) return -1;
  for (i = 0; i < pages; i++) ord[i] = (unsigned int)i;
  for (i = pages - 1; i > 0; i--) { /* Fisher-Yates */
    size_t j = (size_t)(rng_next() % (i + 1));
    unsigned int t = ord[i];
    ord[i] = ord[j];
    ord[j] = t;
  }
  for (i = 0; i < pages; i++) memset(p + (size_t)ord[i] * 4096, 0x5a, 4096);
  free(ord); /* big enough to go back to the kernel at once (glibc munmaps it) */
  if (len % 4096) memset(p + pages * 4096, 0x5a, len % 4096);
  return 0;
}

/* Allocates <mib> MiB in <mappings> mappings and writes every byte, in address order (scattered
   0) or one page at a time in a random order (scattered 1). 0, or -1 on a failed mmap/malloc. */
int cfork_alloc_mode(int mib, int mappings, int scattered) {
  size_t total = (size_t)mib << 20;
  size_t page = 4096;
  size_t per, done = 0;
  int i;
  if (mappings < 1) mappings = 1;
  per = (total / mappings + page - 1) / page * page;
  for (i = 0; i < mappings && done < total; i++) {
    size_t len = total - done < per ? total - done : per;
    /* A guard page after each mapping keeps the kernel from merging them into one VMA. */
    char *p = mmap(NULL, len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    if (mappings > 1) mprotect(p + len, page, PROT_NONE);
    if (scattered) {
      if (write_scattered(p, len) != 0) return -1;
    } else {
      memset(p, 0x5a, len);
    }
    done += len;
  }
  return 0;
}

/* cfork_alloc_mode() in address order (the historical entry point). */
int cfork_alloc(int mib, int mappings) { return cfork_alloc_mode(mib, mappings, 0); }

/*
 * Times <warmups> + <rounds> rounds of fork + waitpid (the child: _exit(0)); writes each timed
 * round's wall ms to out (room for `rounds` doubles) and, when cpu is not NULL, its parent and
 * child CPU ms to cpu (room for 2 * `rounds`). 0, or -1 on a failed fork/waitpid/child.
 */
int cfork_rounds(int rounds, int warmups, double *out, double *cpu) {
  int i;
  int fd = cpu ? open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC) : -1;
  for (i = 0; i < warmups + rounds; i++) {
    double p0 = thread_cpu_ms(fd), c0 = cpu ? children_cpu_ms() : 0;
    double t0 = now_ms(), t1;
    int status = 0;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) _exit(0);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    t1 = now_ms();
    if (i >= warmups) {
      out[i - warmups] = t1 - t0;
      if (cpu) {
        cpu[2 * (i - warmups)] = thread_cpu_ms(fd) - p0;
        cpu[2 * (i - warmups) + 1] = children_cpu_ms() - c0;
      }
    }
  }
  if (fd >= 0) close(fd);
  return 0;
}

long cfork_vmrss_kib(void) { return vmrss_kib(); }
/* Minor faults of the reaped children so far (for the TinyCC fallback's "child_minflt"). */
long cfork_children_minflt(void) {
  struct rusage ru;
  return getrusage(RUSAGE_CHILDREN, &ru) == 0 ? ru.ru_minflt : -1;
}
long cfork_map_count(void) { return map_count(); }

#ifndef __TINYC__
int main(int argc, char **argv) {
  int mib, rounds, warmups, mappings, scattered, i;
  double *out, *cpu;
  if (argc < 3) {
    fprintf(stderr, "usage: cfork <mib> <rounds> [warmups] [mappings] [seq|rand]\n");
    return 1;
  }
  mib = atoi(argv[1]);
  rounds = atoi(argv[2]);
  warmups = argc > 3 ? atoi(argv[3]) : 2;
  mappings = argc > 4 ? atoi(argv[4]) : 1;
  scattered = argc > 5 && strcmp(argv[5], "rand") == 0;
  if (mib < 0 || rounds < 1 || warmups < 0 || (argc > 5 && !scattered && strcmp(argv[5], "seq") != 0)) {
    fprintf(stderr, "cfork: bad arguments\n");
    return 1;
  }
  out = calloc(rounds, sizeof *out);
  cpu = calloc(2 * (size_t)rounds, sizeof *cpu);
  if (!out || !cpu || cfork_alloc_mode(mib, mappings, scattered) != 0) {
    perror("cfork: allocation");
    return 1;
  }
  printf("vmrss_kib %ld\nmaps %ld\n", vmrss_kib(), map_count());
  fflush(stdout); /* nothing buffered may be duplicated into the children */
  if (cfork_rounds(rounds, warmups, out, cpu) != 0) {
    perror("cfork: fork/waitpid");
    return 1;
  }
  for (i = 0; i < rounds; i++) printf("round_ms %.4f\n", out[i]);
  for (i = 0; i < rounds; i++) printf("round_cpu %.4f %.4f\n", cpu[2 * i], cpu[2 * i + 1]);
  {
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0) printf("child_minflt %.1f\n", (double)ru.ru_minflt / (rounds + warmups));
  }
  return 0;
}
#endif
