// Runs the real CLI as a subprocess, as a user would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
/** The command setup links as `packet-journey` (the bundle when current, else tsx). */
export const BIN = join(ROOT, 'bin', 'packet-journey.mjs');
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

/** `packet-journey serve ARGS` through the command a user runs; resolves once it says it is serving. */
export async function startServe(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const p = spawn(process.execPath, [BIN, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('serving on')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`serve ${args.join(' ')} exited ${code}: ${out}`)));
  });
  return p;
}

/** SIGTERM, then waits for the exit; nothing when it has exited already. */
export async function stopServe(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}
