// Short commands run to completion (on the one supervision primitive, proc.ts), and where they run: the
// host, a named netns or a process's netns. stderr is collected so a failure can say why.
import { startProc } from './proc';

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
      // iproute2 enters a named namespace itself: one exec instead of two (nsenter, then the tool). Not
      // when it loads a BPF object: `-n` remounts /sys privately, so the object's pinned maps would land in
      // a fresh bpffs instead of /sys/fs/bpf (the blocklist's map, shared with `lab prog block`).
      if ((cmd === 'ip' || cmd === 'bridge') && !args.includes('obj')) return [cmd, '-n', target.name, ...args];
      return ['nsenter', `--net=/var/run/netns/${target.name}`, '--', cmd, ...args];
    case 'pid':
      return ['nsenter', `--net=/proc/${target.pid}/ns/net`, '--', cmd, ...args];
    case 'path':
      return ['nsenter', `--net=${target.path}`, '--', cmd, ...args];
  }
}

/** Runs argv to completion. Never throws for a non-zero exit; see `execOk` for that. */
export async function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new Error('exec: empty argv');
  const out: Buffer[] = [];
  const p = startProc(argv, { stdout: { bytes: (b) => out.push(b) }, input: opts.input ?? '', keepStderr: Infinity });
  const timer =
    opts.timeoutMs === undefined ? undefined : setTimeout(() => void p.stop({ via: 'SIGKILL' }), opts.timeoutMs);
  const e = await p.exited;
  clearTimeout(timer);
  if (e.spawnError) throw e.spawnError;
  return {
    code: e.code ?? (e.signal ? 128 : 1),
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: e.stderr,
  };
}

/** Runs argv and throws ExecError (with the tool's last stderr line) on a non-zero exit. */
export async function execOk(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(argv, opts);
  if (r.code !== 0) throw new ExecError(argv, r);
  return r.stdout;
}
