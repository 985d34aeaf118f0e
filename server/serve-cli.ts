import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError, defineCommand, flagHelp, type Command } from './cli-args';
import { REPLAY_SPEED_MAX, REPLAY_SPEED_MIN } from './protocol/replay';

/** `--speed 0.5`, `--speed 4`: a decimal factor within the bounds. */
export function parseSpeed(v: string): number {
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n >= REPLAY_SPEED_MIN && n <= REPLAY_SPEED_MAX))
    throw new UsageError(`--speed must be a number from ${REPLAY_SPEED_MIN} to ${REPLAY_SPEED_MAX}, got "${v}"`);
  return n;
}

/** The file's folder must exist, and the path must not be a folder. */
async function checkRecordTarget(file: string): Promise<void> {
  const p = resolve(file);
  const dir = await stat(dirname(p)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new UsageError(`--record: no folder ${dirname(p)}`);
  if ((await stat(p).catch(() => undefined))?.isDirectory()) throw new UsageError(`--record: ${p} is a folder`);
}

const FLAGS = {
  host: { type: 'string', help: 'address to listen on (default 127.0.0.1)', metavar: 'ADDR' },
  port: { type: 'number', help: 'port to listen on (default 3000)', min: 1, max: 65535 },
  dev: { type: 'boolean', help: 'Next.js development mode (hot reload)' },
  'require-tokens': {
    type: 'boolean',
    help: 'token mode on a loopback address too (always on for any other --host)',
  },
  'rotate-tokens': { type: 'boolean', help: 'new tokens instead of the ones kept in /run/packet-journey/' },
  replay: {
    type: 'string',
    help: 'replay a recording (no kernel access, no root needed): docs/recording-format.md',
    metavar: 'FILE',
  },
  speed: { type: 'string', help: `replay speed, a factor of the recorded time (default 1)`, metavar: 'X' },
  record: {
    type: 'string',
    help: 'record the session from start to stop (or until the server stops) into FILE',
    metavar: 'FILE',
  },
} as const;

const USAGE = `usage: packet-journey serve [--host 127.0.0.1] [--port 3000] [--dev] [--require-tokens] [--rotate-tokens]
                           [--record FILE] [--replay FILE [--speed X]]

Serves the web UI and socket.io on one port. On 127.0.0.1 the local user is the instructor. With any
other --host (a classroom), every connection needs a token: the server prints an instructor link (full
rights) and a student link with its QR code. Students watch, follow from the lab's pods, open shared
captures and capture on a pod's eth0; nothing else. The tokens are kept in /run/packet-journey/ so a
restart keeps the links valid; --rotate-tokens (or the instructor's button) makes new ones.

Record and replay: the instructor's Record button (or --record FILE) saves the session as one file:
topology snapshots, lab status, journeys, the instructor's steps with their times, and the saved
captures with their notes. --replay FILE serves it with no kernel access, as an ordinary user: the
page follows the recorded steps, with play/pause and step buttons; kernel actions answer "replay mode".

${flagHelp(FLAGS)}`;

export const command: Command = defineCommand(FLAGS, USAGE, async ({ flags, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const host = flags.host ?? '127.0.0.1';
  if (!/^[0-9A-Za-z.:-]+$/.test(host)) throw new UsageError(`--host "${host}" is not an address`);
  if (flags['rotate-tokens'] && !flags['require-tokens'] && /^(127\.0\.0\.1|localhost|::1)$/.test(host))
    throw new UsageError('--rotate-tokens needs token mode: a --host other than loopback, or --require-tokens');
  if (flags.replay !== undefined && flags.record !== undefined)
    throw new UsageError('--record and --replay do not go together: a replay is not recorded again');
  if (flags.speed !== undefined && flags.replay === undefined) throw new UsageError('--speed needs --replay FILE');
  const speed = flags.speed === undefined ? undefined : parseSpeed(flags.speed);
  if (flags.record !== undefined) await checkRecordTarget(flags.record);
  const { startServer } = await import('./index');
  const server = await startServer({
    host,
    port: flags.port ?? 3000,
    dev: flags.dev || undefined,
    requireTokens: flags['require-tokens'],
    rotateTokens: flags['rotate-tokens'],
    replay: flags.replay,
    speed,
    record: flags.record && resolve(flags.record),
  });
  process.stdout.write(`packet-journey serving on ${server.url}\n`);
  if (server.replay) process.stdout.write(`${server.replay}\n`);
  if (flags.record) process.stdout.write(`recording into ${resolve(flags.record)} until stopped\n`);
  const c = server.classroom;
  if (c) {
    // The links carry the tokens: printed here once, for the instructor, and never in any other output.
    process.stdout.write(
      `instructor link (full rights, keep it private): ${c.links.instructor}\n` +
        `student link: ${c.links.student}\n${c.qrTerminal}\ntokens kept in: ${c.stored}\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.stdout.write('shutting down…\n');
      void server.close().finally(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
});
