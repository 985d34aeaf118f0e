// The one way this project runs system tools: argument arrays, never a shell (the server runs as root
// and some arguments come from users). stderr is collected so a failure can say why.
import { spawn } from 'node:child_process';

/** Where a command runs: the host namespace, a named netns (`ip netns`), or a process's netns (containers). */
export type NetnsTarget =
  | { readonly kind: 'host' }
  | { readonly kind: 'named'; readonly name: string }
  | { readonly kind: 'pid'; readonly pid: number }
  | { readonly kind: 'path'; readonly path: string };

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
}

export class ExecError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
  ) {
    const why = result.stderr.trim().split('\n').pop() ?? '';
    super(`${argv.join(' ')}: ${why || `exit ${result.code}`}`);
  }
}

/**
 * argv that runs `cmd args` inside `target`. Named namespaces use nsenter on the bind mount rather than
 * `ip netns exec`, which remounts /sys per call (slower, and it hides /sys/fs/bpf).
 */
export function inNetns(target: NetnsTarget, cmd: string, args: readonly string[]): string[] {
  switch (target.kind) {
    case 'host':
      return [cmd, ...args];
    case 'named':
      return ['nsenter', `--net=/var/run/netns/${target.name}`, '--', cmd, ...args];
    case 'pid':
      return ['nsenter', `--net=/proc/${target.pid}/ns/net`, '--', cmd, ...args];
    case 'path':
      return ['nsenter', `--net=${target.path}`, '--', cmd, ...args];
  }
}

/** Runs argv to completion. Never throws for a non-zero exit; see `execOk` for that. */
export function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('exec: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    }
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs argv and throws ExecError (with the tool's last stderr line) on a non-zero exit. */
export async function execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(argv, opts);
  if (r.code !== 0) throw new ExecError(argv, r);
  return r.stdout;
}
