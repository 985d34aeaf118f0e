// One process: the Next.js request handler and socket.io on the same port.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';
import { createGateway } from './gateway';
import { requestListener } from './gateway/http';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Next.js dev mode (hot reload). Default: production if a build exists. */
  readonly dev?: boolean;
}

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  process.env.NEXT_TELEMETRY_DISABLED = '1';
  const dev = opts.dev ?? !existsSync(join(ROOT, '.next', 'BUILD_ID'));
  const app = next({ dev, dir: ROOT, hostname: opts.host, port: opts.port });
  await app.prepare();
  const handle = app.getRequestHandler();

  // Capture downloads are streamed from the captures folder by the capture module, not by Next.
  const http = createServer(requestListener(handle));
  const gateway = createGateway(http);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => resolve());
  });
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shown}:${opts.port}`,
    close: async () => {
      await gateway.close();
      await new Promise<void>((r) => http.close(() => r()));
      await app.close?.();
    },
  };
}

// `tsx server/index.ts [--host H] [--port P]`: same as `packet-journey serve`.
if (process.argv[1] && /server\/index\.ts$/.test(process.argv[1])) {
  const { main } = await import('./cli');
  process.exit(await main(['serve', ...process.argv.slice(2)]));
}
