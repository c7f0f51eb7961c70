/*
 * The floor for spawning on this machine: posix_spawn + waitpid of one program, N times,
 * from a small C process. glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK), so this
 * is what a vfork-style spawn costs without any runtime around it.
 *
 * usage: spawn_floor PROGRAM N
 * Prints the wall time of each spawn+wait in microseconds, one per line, so the bench
 * summarises every source of samples with the same code.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PROGRAM N\n", argv[0]);
    return 2;
  }
  char *program = argv[1];
  long n = strtol(argv[2], NULL, 10);
  if (n <= 0) {
    fprintf(stderr, "N must be positive\n");
    return 2;
  }
  double *samples = malloc(sizeof(double) * (size_t)n);
  if (samples == NULL) return 1;
  char *child_argv[] = {program, NULL};

  for (long i = 0; i < n; i++) {
    double t0 = now_us();
    pid_t pid;
    int err = posix_spawn(&pid, program, NULL, NULL, child_argv, environ);
    if (err != 0) {
      fprintf(stderr, "posix_spawn %s: error %d\n", program, err);
      return 1;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "%s did not exit 0\n", program);
      return 1;
    }
    samples[i] = now_us() - t0;
  }
  /* Printed after the loop so that writing the output never sits between two samples. */
  for (long i = 0; i < n; i++) printf("%.2f\n", samples[i]);
  free(samples);
  return 0;
}
