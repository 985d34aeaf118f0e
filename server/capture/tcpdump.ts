// tcpdump as a supervised process (sys/proc): `-U -w -` into the stream parser, "listening on" on stderr
// as the sign it runs, and at the end its kernel counters and, on failure, its own last words.
import { startProc, type ProcExit } from '../sys/proc';
import { PcapStreamParser, type CaptureRecord } from './pcap';
import { CaptureError } from './targets';

/** tcpdump is slow to say it listens on some kernels; after this long it is taken as running. */
const LISTEN_WAIT_MS = 5000;
/** SIGINT lets tcpdump print its counters; SIGKILL if it lingers. */
const STOP_KILL_MS = 2000;

export interface TcpdumpEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it ended, as tcpdump tells it (or the count it was given was reached). */
  readonly reason: string;
  readonly failed: boolean;
  readonly kernel: { readonly received: number; readonly dropped: number } | null;
  /** Bytes of a partial last record. */
  readonly trailing: number;
  /** From the stream's header; -1 when none came. */
  readonly linktype: number;
}

export interface TcpdumpHooks {
  record(rec: CaptureRecord, linktype: number): void;
  /** The stream cannot be parsed (reported once): stop it. */
  unreadable(why: string): void;
}

export interface Tcpdump {
  /** Resolves once it listens; rejects with its error if it ends before. */
  readonly listening: Promise<void>;
  readonly ended: Promise<TcpdumpEnd>;
  stop(): void;
}

/**
 * tcpdump's stderr lines that are not a failure reason: the banner ("tcpdump: listening on eth0, …",
 * prefixed when writing to a file), the verbose-output hint and the counters.
 */
const NOT_A_REASON =
  /^(listening on|verbose output suppressed)|packets? (captured|received by filter|dropped by kernel)|^\(/;
const reasonLine = (l: string): string | undefined => {
  const line = l.replace(/^tcpdump: /, '');
  return NOT_A_REASON.test(line) ? undefined : line;
};

/** Why it ended, in words: a signal is named, with the last error line if it printed one. */
function endReason(e: ProcExit): string {
  if (e.spawnError) return `cannot run tcpdump: ${e.spawnError.message}`;
  if (e.code === 0) return 'tcpdump finished (packet count reached)';
  if (e.signal) return `tcpdump was killed by ${e.signal}${e.reason ? `; last error: ${e.reason}` : ''}`;
  return e.reason || `tcpdump exited with code ${e.code}`;
}

function counters(stderr: string): TcpdumpEnd['kernel'] {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  const received = num(/(\d+) packets? received by filter/);
  const dropped = num(/(\d+) packets? dropped by kernel/);
  return received === undefined && dropped === undefined ? null : { received: received ?? 0, dropped: dropped ?? 0 };
}

export function runTcpdump(argv: readonly string[], hooks: TcpdumpHooks): Tcpdump {
  let unreadable = false;
  const parser = new PcapStreamParser((rec) => hooks.record(rec, parser.linktype));
  let heard = (): void => undefined;
  const said = new Promise<void>((r) => (heard = r));
  const proc = startProc(argv, {
    stdout: {
      bytes: (b) => {
        parser.push(b);
        if (parser.error && !unreadable) {
          unreadable = true;
          hooks.unreadable(parser.error);
        }
      },
    },
    onStderr: (tail) => {
      if (/listening on/.test(tail)) heard();
    },
    reasonLine,
  });
  const ended = proc.exited.then((e): TcpdumpEnd => {
    const reason = endReason(e);
    return {
      code: e.code,
      signal: e.signal,
      reason,
      failed: e.code !== 0,
      kernel: counters(e.stderr),
      trailing: parser.pending,
      linktype: parser.linktype,
    };
  });
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, LISTEN_WAIT_MS);
    const done = (): void => clearTimeout(timer);
    void said.then(() => (done(), resolve()));
    void ended.then((e) => {
      done();
      reject(new CaptureError(e.reason));
    });
  });
  return { listening, ended, stop: () => void proc.stop({ via: 'SIGINT', killAfterMs: STOP_KILL_MS }) };
}
