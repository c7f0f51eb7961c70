/*
 * The floor for workload 3: a C process that posix_spawns N copies of `PROGRAM ARG`
 * back to back, each with stdout and stderr pipes as sandproc gives them, then waits
 * for all. On a small machine the children's own start-up competes with the spawning
 * loop for the CPUs, so this is what starting N processes costs here, whatever spawns them.
 *
 * usage: burst_floor PROGRAM ARG N
 * Prints one JSON line: {"spawnAllMs": ..., "lastExitLagMs": ...}, the lag measured
 * from the end of the spawning loop plus one second (the common deadline of `sleep 1`).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PROGRAM ARG N\n", argv[0]);
    return 2;
  }
  char *child_argv[] = {argv[1], argv[2], NULL};
  long n = strtol(argv[3], NULL, 10);
  if (n <= 0) return 2;
  /* Read ends stay open until every child exited, as a supervisor's would. */
  int *read_ends = malloc(sizeof(int) * 2 * (size_t)n);
  if (read_ends == NULL) return 1;

  double t0 = now_ms();
  for (long i = 0; i < n; i++) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
      perror("pipe2");
      return 1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[1], &fa, NULL, child_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      fprintf(stderr, "posix_spawn %s: %s\n", argv[1], strerror(rc));
      return 1;
    }
    close(out[1]);
    close(err[1]);
    read_ends[2 * i] = out[0];
    read_ends[2 * i + 1] = err[0];
  }
  double loop_end = now_ms();
  for (long i = 0; i < n; i++) {
    if (wait(NULL) < 0) {
      perror("wait");
      return 1;
    }
  }
  double last_exit = now_ms();
  for (long i = 0; i < 2 * n; i++) close(read_ends[i]);
  printf("{\"spawnAllMs\": %.3f, \"lastExitLagMs\": %.3f}\n", loop_end - t0, last_exit - (loop_end + 1000));
  free(read_ends);
  return 0;
}
