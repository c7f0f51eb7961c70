/** The `--help` texts of the `sandproc` command. */

export const MAIN_USAGE = `Usage: sandproc <command> [options]

Commands:
  serve   run the HTTP process API server
  run     run one process in the foreground
  shell   open a terminal on a server: a new PTY session, attached (like docker exec -it)
  attach  attach this terminal to a PTY session of a server

sandproc <command> --help shows the options of a command.
`

export const SERVE_USAGE = `Usage: sandproc serve [options]

Options (each also settable by the environment variable shown):
  --host HOST           address to listen on (SANDPROC_HOST, default 127.0.0.1)
  --port PORT           port, 0 for any free one (SANDPROC_PORT, default 9501)
  --token TOKEN         bearer token (SANDPROC_TOKEN; default: a random one, printed once)
  --allow-no-auth       serve without a token, loopback hosts only (SANDPROC_ALLOW_NO_AUTH=1)
  --no-console          do not serve the browser console at / (SANDPROC_NO_CONSOLE=1)
  --max-processes N     running processes before 429 (SANDPROC_MAX_PROCESSES, default 256)
  --max-body SIZE       largest JSON body (SANDPROC_MAX_BODY, default 1M)
  --max-stdin SIZE      largest stdin write (SANDPROC_MAX_STDIN, default 16M)
  --max-stdin-queue SIZE  stdin bytes queued per process before 429 (SANDPROC_MAX_STDIN_QUEUE, default 32M)
  --retain SIZE         output kept per stream of a started process (SANDPROC_RETAIN, default 8M)
  --retain-head SIZE    first output kept per stream besides the latest (SANDPROC_RETAIN_HEAD, default 1M)
  --max-exited N        exited processes kept listed (SANDPROC_MAX_EXITED, default 1024)
  --line-limit SIZE     longest line before it is split (SANDPROC_LINE_LIMIT, default 64K)
  --memory-limit SIZE   default memory limit per process (SANDPROC_MEMORY_LIMIT)
  --pids-limit N        default limit of tasks (processes and threads) per process tree (SANDPROC_PIDS_LIMIT)
  --cpu-limit CPUS      default CPU quota per process tree, e.g. 0.5 (SANDPROC_CPU_LIMIT)
  --kill-grace SECONDS  SIGTERM to SIGKILL on shutdown (SANDPROC_KILL_GRACE, default 5)
  --keep-alive SECONDS  idle time before an SSE keep-alive comment (SANDPROC_KEEP_ALIVE, default 15)
  --max-pty-sessions N  live PTY sessions before 429 (SANDPROC_MAX_PTY_SESSIONS, default 64)
  --cgroup-parent DIR   cgroup under which the per-process cgroups go (SANDPROC_CGROUP_PARENT;
                        default: found as docs/deploying.md describes)
  --audit-log FILE      append one JSON line per process event; reopened on SIGHUP (SANDPROC_AUDIT_LOG)
  -h, --help            show this help

SIZE is a byte count with an optional K, M or G suffix (powers of 1024).
Metrics are at GET /metrics. Traces are exported over OTLP/HTTP when
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; see
docs/monitoring.md.
`

export const RUN_USAGE = `Usage: sandproc run [options] [--] COMMAND [ARGS...]

Runs COMMAND (no shell) and passes its output through; sandproc exits with the
process's exit code, or 128 + the signal number that killed it. When the process
did not end by itself, one line on stderr says how it ended, for example
  sandproc: OOM-killed (memory limit 64 MiB, peak 64 MiB)
  sandproc: timed out after 1 s (SIGTERM, then SIGKILL after 2 s)

Options:
  --user USER           run as a user name, uid, or uid:gid
  --cwd DIR             working directory
  --env KEY=VALUE       add to the environment (repeatable)
  --timeout SECONDS     end the process tree after this long (SIGKILL, or see --timeout-grace)
  --timeout-grace SECONDS  on a timeout, SIGTERM the tree first and SIGKILL what is left
                        this much later (default 0: SIGKILL at once)
  --idle-timeout SECONDS   end the process tree once it printed nothing for this long
  --merge               stderr into the same pipe as stdout: one stream, in exact order
  --max-output SIZE     pass the first half of SIZE through, keep the last half for the
                        end and drop (and count) what lies between
  --memory-limit SIZE   hard memory limit of the process's cgroup (bytes, or 256M)
  --pids-limit N        most tasks (processes and threads) of the process tree at once
  --cpu-limit CPUS      CPU quota of the process tree, e.g. 0.5 or 2
  --json                print the events as JSON lines (start, output..., exit with usage)
  -h, --help            show this help
`

export const ATTACH_USAGE = `Usage: sandproc attach URL SESSION_ID [TOKEN]

Attaches this terminal to the PTY session SESSION_ID of the server at URL (as made
by POST /api/v1/pty, which returns the id and the TOKEN; TOKEN may instead be in
SANDPROC_PTY_TOKEN). The terminal is in raw mode while attached (Ctrl-C goes to the
session), window-size changes are sent along, and sandproc exits with the session's
exit code (128 + N for a signal), or 1 if the connection fails or drops.
SIGTERM or SIGHUP detach and leave the session running.
`

export const SHELL_USAGE = `Usage: sandproc shell URL [--token T] [--user U] [--cwd D] [-- COMMAND [ARGS...]]

Opens a PTY session on the server at URL (POST /api/v1/pty) at this terminal's size,
attaches this terminal to it as "sandproc attach" does, and exits with the session's
exit code (128 + N for a signal). The session is deleted once it has ended.

Without COMMAND the session runs the server's shell: $SHELL of the server's
environment, or /bin/sh where it is unset, with HOME set to the home of the account
it runs as. TERM is passed along when set.

Options:
  --token TOKEN   the server's bearer token (default: SANDPROC_TOKEN)
  --user USER     run as a user name, uid, or uid:gid
  --cwd DIR       working directory
  -h, --help      show this help

If the session cannot be made (a wrong URL, an unreachable server, a refused token or
request) sandproc prints one line saying why and exits 1. If the connection drops or
SIGTERM/SIGHUP detach it while the session runs, it prints how to reattach.
`
