// The one way this project supervises a child process. An argv, never a shell (the server runs as root
// and some arguments come from users); stdout goes to a line or a byte sink; the last lines of stderr
// are kept as the failure reason; the exit is reported once, after stdout is drained; and stop() asks
// first (a signal, or EOF on stdin) and sends SIGKILL if the process lingers.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export type StdoutSink = { readonly lines: (line: string) => void } | { readonly bytes: (chunk: Buffer) => void };

export interface ProcOptions {
  /** Without a sink, stdout is discarded. */
  readonly stdout?: StdoutSink;
  /** Keep stdin open as a command channel (see `write`). */
  readonly stdin?: boolean;
  /** Or write this to stdin and close it. */
  readonly input?: string;
  /** Called after each stderr chunk with the kept tail (for a tool that reports progress there). */
  readonly onStderr?: (tail: string) => void;
  /** stderr characters kept (default 8192). */
  readonly keepStderr?: number;
  /** Turns a stderr line into reason text, or undefined for noise (counters, banners). */
  readonly reasonLine?: (line: string) => string | undefined;
  /** How many of the last meaningful stderr lines make the reason (default 2). */
  readonly reasonLines?: number;
}

export interface ProcExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** How it ended, in words: `exit 1`, `killed by SIGKILL`, `spawn: …`. */
  readonly how: string;
  /** The last meaningful stderr lines joined with "; ", or "" when it said nothing. */
  readonly reason: string;
  /** The kept stderr tail (tools print counters there). */
  readonly stderr: string;
  /** stop() was called before it ended. */
  readonly stopped: boolean;
  /** Set when the process never ran (no such file, not executable). */
  readonly spawnError: Error | undefined;
}

export interface StopOptions {
  /** The polite ask: a signal, or "eof" (close stdin) for a tool that quits on it. Default SIGTERM. */
  readonly via?: NodeJS.Signals | 'eof';
  /** SIGKILL after this long if it has not exited (default 2000 ms). */
  readonly killAfterMs?: number;
}

export interface Proc {
  readonly pid: number | undefined;
  /** Resolves once, when the process has exited and its stdout is drained; never rejects. */
  readonly exited: Promise<ProcExit>;
  readonly running: boolean;
  /** The stderr tail so far. */
  readonly stderr: string;
  /** Writes to stdin (with `stdin: true`); false when it is not running. */
  write(text: string): boolean;
  /** Stops it (once; later calls just wait) and resolves with its exit. */
  stop(o?: StopOptions): Promise<ProcExit>;
}

/**
 * Splits a text stream into lines. Long lines (batch records run to hundreds of KB) are kept as pieces
 * and only the new chunk is searched for a newline, so a line costs O(length), not O(length x chunks).
 */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let pieces: string[] = [];
  return {
    push(chunk) {
      let start = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
        const tail = chunk.slice(start, nl);
        if (pieces.length > 0) {
          pieces.push(tail);
          const line = pieces.join('');
          pieces = [];
          onLine(line);
        } else onLine(tail);
        start = nl + 1;
      }
      if (start < chunk.length) pieces.push(chunk.slice(start));
    },
    end() {
      // A last line without its newline is still a line.
      if (pieces.length > 0) onLine(pieces.splice(0).join(''));
    },
  };
}

/** The last meaningful stderr lines, as one line. */
export function stderrReason(tail: string, o: Pick<ProcOptions, 'reasonLine' | 'reasonLines'> = {}): string {
  return tail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .flatMap((l) => {
      const r = o.reasonLine ? o.reasonLine(l) : l;
      return r ? [r] : [];
    })
    .slice(-(o.reasonLines ?? 2))
    .join('; ');
}

function describe(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit ${code ?? '?'}`;
}

function pipeStdout(out: Readable, sink: StdoutSink): void {
  if ('lines' in sink) {
    const split = lineSplitter(sink.lines);
    out.setEncoding('utf8');
    out.on('data', (s: string) => split.push(s));
    out.on('end', () => split.end());
  } else out.on('data', (b: Buffer) => sink.bytes(b));
}

export function startProc(argv: readonly string[], o: ProcOptions = {}): Proc {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('startProc: empty argv');
  const wantsStdin = o.stdin === true || o.input !== undefined;
  const child = spawn(cmd, args, { stdio: [wantsStdin ? 'pipe' : 'ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'] });
  const keep = o.keepStderr ?? 8192;
  let tail = '';
  let running = true;
  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  let settle!: (e: ProcExit) => void;
  const exited = new Promise<ProcExit>((resolve) => {
    settle = (e) => {
      if (!running) return;
      running = false;
      if (killTimer) clearTimeout(killTimer);
      resolve(e);
    };
  });
  const end = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): ProcExit => ({
    code,
    signal,
    how: spawnError ? `spawn: ${spawnError.message}` : describe(code, signal),
    reason: stderrReason(tail, o),
    stderr: tail,
    stopped,
    spawnError,
  });

  if (o.stdout && child.stdout) pipeStdout(child.stdout, o.stdout);
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    tail = (tail + s).slice(-keep);
    o.onStderr?.(tail);
  });
  child.stdin?.on('error', () => undefined);
  if (o.input !== undefined) child.stdin?.end(o.input);
  // A spawn failure emits 'error' (and no pid); later errors (a failed kill) change nothing.
  child.on('error', (e) => {
    if (child.pid === undefined) settle(end(null, null, e));
  });
  child.on('close', (code, signal) => settle(end(code, signal)));

  return {
    pid: child.pid,
    exited,
    get running() {
      return running;
    },
    get stderr() {
      return tail;
    },
    write(text) {
      if (!running || !child.stdin || child.stdin.writableEnded) return false;
      child.stdin.write(text);
      return true;
    },
    stop(s = {}) {
      if (!running || stopped) return exited;
      stopped = true;
      const via = s.via ?? 'SIGTERM';
      if (via === 'eof') child.stdin?.end();
      else child.kill(via);
      if (via !== 'SIGKILL') killTimer = setTimeout(() => child.kill('SIGKILL'), s.killAfterMs ?? 2000);
      return exited;
    },
  };
}

/**
 * Starts a daemon that outlives this process (the lab's echo servers: `lab down` kills them by pid).
 * Not supervised, by design; returns its pid, or undefined if it could not start.
 */
export function startDetached(argv: readonly string[]): number | undefined {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('startDetached: empty argv');
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  return child.pid;
}
