// One process: the Next.js request handler and socket.io on the same port.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';
import QRCode from 'qrcode';
import { isLoopback } from './classroom/access';
import { createTokens } from './classroom/tokens';
import { createGateway, type Gateway } from './gateway';
import { requestListener } from './gateway/http';
import type { ClassLinks } from './protocol/classroom';
import { openReplay, type ReplaySession } from './replay';
import { writeServerMarker } from './running-server';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Next.js dev mode (hot reload). Default: production if a build exists. */
  readonly dev?: boolean;
  /** Token mode on a loopback address too (a shared machine, a test). Always on for any other host. */
  readonly requireTokens?: boolean;
  /** New tokens instead of the ones kept in /run/packet-journey/. */
  readonly rotateTokens?: boolean;
  /** Replay mode: serve this recording, with no kernel access (server/replay/). */
  readonly replay?: string;
  /** Replay speed, a factor of the recorded time. */
  readonly speed?: number;
  /** Record from the start into this file, saved at stop or when the server closes. */
  readonly record?: string;
}

export interface RunningServer {
  readonly url: string;
  /** Token mode: the instructor and student links, and the student link's QR code for a terminal. */
  readonly classroom?: { readonly links: ClassLinks; readonly qrTerminal: string; readonly stored: string };
  /** Replay mode: the file's one-line summary for the terminal. */
  readonly replay?: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  process.env.NEXT_TELEMETRY_DISABLED = '1';
  // A bad recording is refused before anything starts.
  const session: ReplaySession | undefined = opts.replay ? await openReplay(opts.replay, opts.speed) : undefined;
  const dev = opts.dev ?? !existsSync(join(ROOT, '.next', 'BUILD_ID'));
  const app = next({ dev, dir: ROOT, hostname: opts.host, port: opts.port });
  try {
    await app.prepare();
  } catch (e) {
    await session?.close();
    throw e;
  }
  const handle = app.getRequestHandler();

  // Capture downloads are streamed from the captures folder by the capture module, not by Next.
  const tokens = opts.requireTokens || !isLoopback(opts.host) ? createTokens({ rotate: opts.rotateTokens }) : undefined;
  // The listener reads the gateway per request, after it exists (it must be in place before socket.io attaches).
  const http = createServer(requestListener(handle, () => gw));
  const gw: Gateway = createGateway(http, {
    host: opts.host,
    tokens,
    replay: { replay: session, record: opts.record, log: (l) => process.stdout.write(`recording ${l}\n`) },
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => resolve());
  }).catch(async (e: unknown) => {
    await gw.close();
    throw e;
  });
  // CLI calls of this checkout (`follow`) find the server by this marker and use its warm probe loader.
  const { port } = http.address() as AddressInfo;
  // A replay server has no loader to lend: a follow there would only get "replay mode".
  const unmark = session ? () => undefined : writeServerMarker({ host: opts.host, port, tokens: tokens !== undefined });
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const links = tokens ? await gw.classroom.links() : undefined;
  return {
    url: `http://${shown}:${opts.port}`,
    classroom:
      tokens && links
        ? {
            links,
            qrTerminal: await QRCode.toString(links.student, { type: 'terminal', small: true }),
            stored: tokens.stored,
          }
        : undefined,
    replay: session && replayLine(session),
    close: async () => {
      unmark();
      await gw.close();
      await new Promise<void>((r) => http.close(() => r()));
      await app.close?.();
    },
  };
}

function replayLine(s: ReplaySession): string {
  const n = (k: string): number => s.recording.entries.filter((e) => e.kind === k).length;
  return (
    `replay of ${s.path}, recorded ${s.recording.header.createdAt} on ${s.recording.header.host}: ` +
    `${n('view')} step(s), ${n('journey')} journey(s), ${s.captures.length} capture(s); no kernel access`
  );
}

// `tsx server/index.ts [--host H] [--port P]`: same as `packet-journey serve`.
if (process.argv[1] && /server\/index\.ts$/.test(process.argv[1])) {
  const { main } = await import('./cli');
  process.exit(await main(['serve', ...process.argv.slice(2)]));
}
