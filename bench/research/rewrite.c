/* Issue 16 item 3 with huge pages: time to rewrite <mib> MiB (memset) in the parent, with no fork
 * before, and after one fork + child _exit + waitpid; 4 KiB pages vs MADV_HUGEPAGE.
 *   rewrite <mib> seq|huge */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/resource.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static long minflt(void) { struct rusage r; getrusage(RUSAGE_SELF, &r); return r.ru_minflt; }
int main(int argc, char **argv) {
  size_t len = (size_t)atol(argv[1]) << 20;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!strcmp(argv[2], "huge")) madvise(p, len, MADV_HUGEPAGE);
  memset(p, 1, len);
  double t0 = now_ms(); long f0 = minflt();
  memset(p, 2, len);
  double nofork = now_ms() - t0; long fnofork = minflt() - f0;
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  t0 = now_ms(); f0 = minflt();
  memset(p, 3, len);
  printf("%s: rewrite without fork %.1f ms (%ld faults); after one fork+exit+wait %.1f ms (%ld faults)\n", argv[2], nofork, fnofork, now_ms() - t0, minflt() - f0);
  /* and with the child still alive (a snapshot child running while the parent writes) */
  int fd[2]; pipe(fd);
  pid = fork();
  if (pid == 0) { char c; close(fd[1]); read(fd[0], &c, 1); _exit(0); }
  t0 = now_ms(); f0 = minflt();
  memset(p, 4, len);
  printf("%s: rewrite while the child is alive %.1f ms (%ld faults)\n", argv[2], now_ms() - t0, minflt() - f0);
  close(fd[1]); waitpid(pid, NULL, 0);
  FILE *s = fopen("/proc/self/smaps_rollup", "r"); char l[256];
  while (fgets(l, sizeof l, s)) if (!strncmp(l, "AnonHugePages", 13)) printf("%s: after: %s", argv[2], l);
  return 0;
}
