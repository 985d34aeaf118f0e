import { UsageError, defineCommand, flagHelp, type Command } from './cli-args';

const FLAGS = {
  host: { type: 'string', help: 'address to listen on (default 127.0.0.1)', metavar: 'ADDR' },
  port: { type: 'number', help: 'port to listen on (default 3000)', min: 1, max: 65535 },
  dev: { type: 'boolean', help: 'Next.js development mode (hot reload)' },
} as const;

const USAGE = `usage: packet-journey serve [--host 127.0.0.1] [--port 3000] [--dev]

Serves the web UI and socket.io on one port. The server runs as root and can start captures and
traces in any namespace: keep it on 127.0.0.1 unless the network is yours.

${flagHelp(FLAGS)}`;

export const command: Command = defineCommand(FLAGS, USAGE, async ({ flags, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const host = flags.host ?? '127.0.0.1';
  if (!/^[0-9A-Za-z.:-]+$/.test(host)) throw new UsageError(`--host "${host}" is not an address`);
  const { startServer } = await import('./index');
  const server = await startServer({ host, port: flags.port ?? 3000, dev: flags.dev || undefined });
  process.stdout.write(`packet-journey serving on ${server.url}\n`);
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
