/*
 * The floor for spawning on this machine: posix_spawn + waitpid of one program, N times,
 * from a small C process. glibc's posix_spawn uses clone(CLONE_VM|CLONE_VFORK), so this
 * is what a vfork-style spawn costs without any runtime around it.
 *
 * usage: spawn_floor [-p] PROGRAM N
 *   -p  also give the child stdout and stderr pipes and read both to EOF before the
 *       wait: the least work for a spawn whose output is captured, as sandproc's is.
 * Prints the wall time of each spawn in microseconds, one per line, so the bench
 * summarises every source of samples with the same code.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Reads both pipes until each reports EOF, then closes them. */
static int drain(int fds[2]) {
  char buf[65536];
  int open_count = 2;
  struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
  while (open_count > 0) {
    if (poll(p, 2, -1) < 0) return -1;
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      if (read(p[i].fd, buf, sizeof buf) <= 0) {
        close(p[i].fd);
        p[i].fd = -1;
        open_count--;
      }
    }
  }
  return 0;
}

static int spawn_one(char *program, int with_pipes) {
  char *child_argv[] = {program, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int out[2], err[2], ends[2];
  if (with_pipes) {
    /* O_CLOEXEC on all four ends: the dup2 below clears it on the child's 1 and 2. */
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return -1;
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  }
  pid_t pid;
  int rc = posix_spawn(&pid, program, &fa, NULL, child_argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "posix_spawn %s: %s\n", program, strerror(rc));
    return -1;
  }
  if (with_pipes) {
    close(out[1]);
    close(err[1]);
    ends[0] = out[0];
    ends[1] = err[0];
    if (drain(ends) < 0) return -1;
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "%s did not exit 0\n", program);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int with_pipes = argc == 4 && strcmp(argv[1], "-p") == 0;
  if (argc != 3 + with_pipes) {
    fprintf(stderr, "usage: %s [-p] PROGRAM N\n", argv[0]);
    return 2;
  }
  char *program = argv[1 + with_pipes];
  long n = strtol(argv[2 + with_pipes], NULL, 10);
  if (n <= 0) {
    fprintf(stderr, "N must be positive\n");
    return 2;
  }
  double *samples = malloc(sizeof(double) * (size_t)n);
  if (samples == NULL) return 1;
  for (long i = 0; i < n; i++) {
    double t0 = now_us();
    if (spawn_one(program, with_pipes) < 0) return 1;
    samples[i] = now_us() - t0;
  }
  /* Printed after the loop so that writing the output never sits between two samples. */
  for (long i = 0; i < n; i++) printf("%.2f\n", samples[i]);
  free(samples);
  return 0;
}
