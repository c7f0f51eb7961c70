/*
 * A profiling probe, not a workload: what a per-process memory cgroup costs in the kernel
 * alone, from C. Interleaves three ways of running PROGRAM N times, each timed from the
 * vfork to the reap: the child first writes "0" to the v1 `tasks` file of a freshly made
 * memcg (made before and removed after the timed part), of one memcg reused for every
 * child, or of none. The mkdir and rmdir are left out on purpose: the bench times them
 * apart (docs/performance.md).
 *
 * usage: cc -O2 -o /tmp/memcg-join bench/probe/memcg-join.c
 *        /tmp/memcg-join DIR N [PROGRAM]   (DIR: an existing v1 memory cgroup, as root)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* One child that joins the cgroup of `tasks_fd` (none when -1) and execs `prog`; its µs. */
static double run_once(int tasks_fd, char* prog) {
  double t = now_us();
  pid_t pid = vfork();
  if (pid == 0) {
    if (tasks_fd >= 0 && write(tasks_fd, "0", 1) != 1) _exit(126);
    char* argv[] = {prog, NULL};
    execv(prog, argv);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  return now_us() - t;
}

static int open_tasks(const char* dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/tasks", dir);
  return open(path, O_WRONLY | O_CLOEXEC);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: memcg-join DIR N [PROGRAM]\n");
    return 2;
  }
  const char* base = argv[1];
  int n = atoi(argv[2]);
  char* prog = argc > 3 ? argv[3] : "/bin/true";
  double* fresh = calloc(n, sizeof(double));
  double* reused = calloc(n, sizeof(double));
  double* none = calloc(n, sizeof(double));
  char reuse_dir[4096], dir[4096];
  snprintf(reuse_dir, sizeof reuse_dir, "%s/reused", base);
  mkdir(reuse_dir, 0755);
  int reuse_fd = open_tasks(reuse_dir);
  if (reuse_fd < 0) {
    perror(reuse_dir);
    return 1;
  }
  for (int i = 0; i < n; i++) {
    snprintf(dir, sizeof dir, "%s/f%d", base, i);
    mkdir(dir, 0755);
    int fd = open_tasks(dir);
    fresh[i] = run_once(fd, prog);
    close(fd);
    rmdir(dir);
    reused[i] = run_once(reuse_fd, prog);
    none[i] = run_once(-1, prog);
  }
  close(reuse_fd);
  rmdir(reuse_dir);
  qsort(fresh, n, sizeof(double), by_value);
  qsort(reused, n, sizeof(double), by_value);
  qsort(none, n, sizeof(double), by_value);
  printf("µs, median (p10): fresh memcg %.0f (%.0f), reused memcg %.0f (%.0f), no cgroup %.0f (%.0f)\n", fresh[n / 2],
         fresh[n / 10], reused[n / 2], reused[n / 10], none[n / 2], none[n / 10]);
  return 0;
}
