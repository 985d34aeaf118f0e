// For the capture tests that race or fill things up: a real socket.io server with the capture events
// attached, a namespace with lo up for tcpdump, a temp captures folder (PJ_CAPTURE_DIR), and as many
// extra clients as a test wants; all set up before the file's tests and removed after them.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll } from 'vitest';
import type { PjServer } from '../server/gateway/types';
import { captureManager } from '../server/capture/manager';
import { attach } from '../server/capture/socket';
import { listenAndConnect, type PjClient } from './socket';

export interface CaptureBed {
  readonly io: PjServer;
  readonly dir: string;
  /** The first client, connected before the tests. */
  readonly client: PjClient;
  readonly base: string;
  /** One more connected client (closed after the tests if the test did not). */
  another(): Promise<PjClient>;
}

export function captureBed(ns: string, maxHttpBufferSize?: number): CaptureBed {
  const dir = mkdtempSync(join(tmpdir(), `${ns}-`));
  process.env.PJ_CAPTURE_DIR = dir;
  const http = createServer();
  const io: PjServer = new Server(http, maxHttpBufferSize ? { maxHttpBufferSize } : {});
  let detach: () => void = () => undefined;
  const clients: PjClient[] = [];
  const bed = {
    io,
    dir,
    client: undefined as unknown as PjClient,
    base: '',
    another: async (): Promise<PjClient> => {
      const c: PjClient = connect(bed.base, { transports: ['websocket'] });
      clients.push(c);
      await new Promise<void>((r) => c.on('connect', () => r()));
      return c;
    },
  };
  beforeAll(async () => {
    spawnSync('ip', ['netns', 'del', ns]);
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    detach = attach(io);
    ({ client: bed.client, base: bed.base } = await listenAndConnect(http));
  });
  afterAll(async () => {
    for (const c of [bed.client, ...clients]) c.close();
    detach();
    await captureManager.stopAll();
    await io.close();
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  return bed;
}
