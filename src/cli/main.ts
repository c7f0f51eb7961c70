#!/usr/bin/env node
/**
 * The `sandproc` command: `sandproc serve`, `sandproc run`, `sandproc shell` and `sandproc attach`.
 * Exit status 2 means a mistake on the command line.
 */
import { parseRunArgs, parseServeArgs, UsageError } from './args.js'
import { attachCommand, parseAttachArgs } from './attach.js'
import { ATTACH_USAGE, MAIN_USAGE, RUN_USAGE, SERVE_USAGE, SHELL_USAGE } from './usage.js'
import { runCommand } from './run.js'
import { serveCommand } from './serve.js'
import { handoverCheck } from './upgrade.js'
import { parseShellArgs, shellCommand } from './shell.js'

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'serve': {
        const cfg = parseServeArgs(rest, process.env)
        if (cfg.help) return usage(SERVE_USAGE)
        return await serveCommand(cfg, process.stderr)
      }
      case 'run': {
        const cfg = parseRunArgs(rest)
        if (cfg.help) return usage(RUN_USAGE)
        return await runCommand(cfg, { stdout: process.stdout, stderr: process.stderr })
      }
      case 'shell': {
        const cfg = parseShellArgs(rest, process.env)
        if (cfg.help) return usage(SHELL_USAGE)
        return await shellCommand(
          cfg,
          { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
          process.env,
        )
      }
      case 'attach': {
        const cfg = parseAttachArgs(rest, process.env)
        if (cfg.help) return usage(ATTACH_USAGE)
        return await attachCommand(cfg, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })
      }
      // A live upgrade's check that this program loads (src/cli/upgrade.ts): every module
      // and the addon are loaded by the time this runs.
      case 'handover-check':
        return handoverCheck(rest, process.stderr)
      case 'help':
      case '--help':
      case '-h':
        return usage(MAIN_USAGE)
      case undefined:
        throw new UsageError('missing command')
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    const help =
      command !== undefined && ['serve', 'run', 'shell', 'attach'].includes(command)
        ? `sandproc ${command} --help`
        : 'sandproc --help'
    process.stderr.write(`sandproc: ${err.message}\nSee "${help}".\n`)
    return 2
  }
}

function usage(text: string): number {
  process.stdout.write(text)
  return 0
}

// exitCode rather than exit(): a piped stdout still gets everything written to it.
process.exitCode = await main(process.argv.slice(2))
