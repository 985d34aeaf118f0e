// Captures under parallel requests and early disconnects: a real socket.io server and clients, tcpdump
// in a real namespace (pjt-race-cap).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PjServer } from '../gateway/types';
import type { CaptureInfo } from '../protocol/capture';
import { captureManager } from './manager';
import { attach } from './socket';
import { ask, listenAndConnect, type PjClient } from '../../test/socket';

const NS = 'pjt-race-cap';
const dir = mkdtempSync(join(tmpdir(), 'pjt-capture-race-'));
process.env.PJ_CAPTURE_DIR = dir;

describe('captures under races (real tcpdump)', () => {
  const http = createServer();
  const io: PjServer = new Server(http);
  let detach: () => void = () => undefined;
  let client: PjClient;
  const running = (): CaptureInfo[] =>
    captureManager
      .list()
      .filter((c) => c.live)
      .map((c) => c.info());

  beforeAll(async () => {
    spawnSync('ip', ['netns', 'del', NS]);
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    detach = attach(io);
    ({ client } = await listenAndConnect(http));
  });

  afterAll(async () => {
    client.close();
    detach();
    await captureManager.stopAll();
    await io.close();
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('40 parallel starts: 16 run (the limit), the rest are refused in one line', async () => {
    const acks = await Promise.all(
      Array.from({ length: 40 }, () =>
        ask<CaptureInfo>(client, 'capture:start', { netns: NS, iface: 'lo', filter: 'icmp', save: false }),
      ),
    );
    const peak = running().length;
    for (const a of acks) if (a.ok) await ask(client, 'capture:stop', { id: a.value.id });
    expect(peak).toBe(16);
    expect(acks.filter((a) => a.ok)).toHaveLength(16);
    for (const a of acks.filter((x) => !x.ok))
      expect(a).toEqual({ ok: false, error: expect.stringMatching(/^16 captures are already running \(limit 16\)/) });
    expect(running()).toEqual([]);
  });
});
