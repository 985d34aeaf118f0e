// Runs the real CLI as a subprocess, as a user would.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(args: readonly string[], opts: { asUser?: number; timeoutMs?: number } = {}): CliResult {
  const base = [TSX, join(ROOT, 'server', 'cli.ts'), ...args];
  const argv =
    opts.asUser === undefined
      ? base
      : ['setpriv', `--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--clear-groups', ...base];
  const r = spawnSync(argv[0] as string, argv.slice(1), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
