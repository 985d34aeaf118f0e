import { UsageError, defineCommand, flagHelp, type Command } from './cli-args';

const FLAGS = {
  host: { type: 'string', help: 'address to listen on (default 127.0.0.1)', metavar: 'ADDR' },
  port: { type: 'number', help: 'port to listen on (default 3000)', min: 1, max: 65535 },
  dev: { type: 'boolean', help: 'Next.js development mode (hot reload)' },
  'require-tokens': {
    type: 'boolean',
    help: 'token mode on a loopback address too (always on for any other --host)',
  },
  'rotate-tokens': { type: 'boolean', help: 'new tokens instead of the ones kept in /run/packet-journey/' },
} as const;

const USAGE = `usage: packet-journey serve [--host 127.0.0.1] [--port 3000] [--dev] [--require-tokens] [--rotate-tokens]

Serves the web UI and socket.io on one port. On 127.0.0.1 the local user is the instructor. With any
other --host (a classroom), every connection needs a token: the server prints an instructor link (full
rights) and a student link with its QR code. Students watch, follow from the lab's pods, open shared
captures and capture on a pod's eth0; nothing else. The tokens are kept in /run/packet-journey/ so a
restart keeps the links valid; --rotate-tokens (or the instructor's button) makes new ones.

${flagHelp(FLAGS)}`;

export const command: Command = defineCommand(FLAGS, USAGE, async ({ flags, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const host = flags.host ?? '127.0.0.1';
  if (!/^[0-9A-Za-z.:-]+$/.test(host)) throw new UsageError(`--host "${host}" is not an address`);
  if (flags['rotate-tokens'] && !flags['require-tokens'] && /^(127\.0\.0\.1|localhost|::1)$/.test(host))
    throw new UsageError('--rotate-tokens needs token mode: a --host other than loopback, or --require-tokens');
  const { startServer } = await import('./index');
  const server = await startServer({
    host,
    port: flags.port ?? 3000,
    dev: flags.dev || undefined,
    requireTokens: flags['require-tokens'],
    rotateTokens: flags['rotate-tokens'],
  });
  process.stdout.write(`packet-journey serving on ${server.url}\n`);
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
