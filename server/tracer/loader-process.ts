// The probe loader as a supervised process (sys/proc): its stdout lines are handed on, its last stderr
// line is the failure reason, and a crash is restarted after RESTART_DELAY_MS, well inside the 2 s the
// UI's banner promises. Status patches (starting, crashed, stopped, restarts, last error) feed it.
import { existsSync } from 'node:fs';
import type { LoaderStatus } from '../protocol/tracer';
import { startProc, type Proc } from '../sys/proc';

const RESTART_DELAY_MS = 300;
/** A loader that crashed this often is left stopped, with its reason. */
const MAX_RESTARTS = 50;
/** After EOF on stdin the loader detaches everything and exits; SIGKILL if it takes longer. */
const STOP_KILL_MS = 2000;

export interface LoaderProcessHooks {
  /** One stdout line without its newline: a view valid only during the call (its bytes are reused). */
  line(line: Buffer): void;
  status(patch: Partial<LoaderStatus>): void;
  /** The process ended, asked or not: commands in flight will get no answer. */
  exited(): void;
  /** It will not come back by itself: whoever waits for it to be ready gets this error. */
  failed(e: Error): void;
}

/** A line longer than this is cut off and dropped (a batch of 4,096 events is about 600 KB). */
const MAX_LINE = 16 << 20;

/**
 * Splits stdout into lines as bytes, never as strings: hop batches are read off their bytes (ndjson.ts),
 * so a flood's lines (hundreds of KB each) make no string at all. A line within one chunk is handed on as
 * a view of it; one spread over chunks is gathered in one buffer that every such line reuses.
 */
export function byteLines(onLine: (line: Buffer) => void): (chunk: Buffer) => void {
  let acc = Buffer.allocUnsafe(1 << 20);
  let have = 0;
  let skipping = false;
  const gather = (part: Buffer): void => {
    if (skipping) return;
    if (have + part.length > MAX_LINE) {
      skipping = true;
      have = 0;
      onLine(Buffer.alloc(0)); // seen as a bad line
      return;
    }
    if (have + part.length > acc.length) {
      const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE, Math.max(have + part.length, acc.length * 2)));
      acc.copy(bigger, 0, 0, have);
      acc = bigger;
    }
    part.copy(acc, have);
    have += part.length;
  };
  return (chunk) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      if (have === 0 && !skipping) onLine(chunk.subarray(start, nl));
      else {
        gather(chunk.subarray(start, nl));
        if (!skipping) onLine(acc.subarray(0, have));
        have = 0;
        skipping = false;
      }
      start = nl + 1;
    }
    if (start < chunk.length) gather(chunk.subarray(start));
  };
}

export class LoaderProcess {
  private proc: Proc | undefined;
  private stopping = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly args: readonly string[],
    private readonly hooks: LoaderProcessHooks,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Spawns it (the owner checks it is not already running). */
  start(): void {
    this.stopping = false;
    if (!existsSync(this.path)) {
      const lastError = `probe not built: run \`make -C probes\` (${this.path} missing)`;
      this.hooks.status({ state: 'stopped', lastError });
      this.hooks.failed(new Error(lastError));
      return;
    }
    this.hooks.status({ state: 'starting' });
    const proc = startProc([this.path, ...this.args], {
      stdin: true,
      stdout: { bytes: byteLines((l) => this.hooks.line(l)) },
      reasonLines: 1,
    });
    this.proc = proc;
    void proc.exited.then((e) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.hooks.exited();
      this.onExit(e.reason ? `${e.how}: ${e.reason}` : e.how);
    });
  }

  private onExit(lastError: string): void {
    if (this.stopping) {
      this.hooks.status({ state: 'stopped', pid: undefined });
      return;
    }
    // Unexpected: banner now, restart shortly; the owner re-applies its filters once it is ready.
    this.hooks.status({ state: 'crashed', pid: undefined, lastError });
    if (this.restarts > MAX_RESTARTS) {
      this.hooks.failed(new Error(`probe loader keeps crashing: ${lastError}`));
      return;
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      this.hooks.status({ restarts: this.restarts });
      this.start();
    }, RESTART_DELAY_MS);
  }

  /** One command line to its stdin; false when it is not running. */
  write(line: string): boolean {
    return this.proc?.write(line) ?? false;
  }

  /** Stops it for good (no restart): EOF on stdin makes it detach and exit; SIGKILL if it lingers. */
  async stop(via: 'eof' | 'SIGKILL' = 'eof'): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const proc = this.proc;
    if (!proc) {
      this.hooks.status({ state: 'stopped', pid: undefined });
      return;
    }
    await proc.stop({ via, killAfterMs: STOP_KILL_MS });
  }
}
