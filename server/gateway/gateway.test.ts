// The socket gateway on a real HTTP server with a real socket.io client (no Next.js needed here).
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../protocol/common';
import type { LabStatus } from '../protocol/lab';
import { labDown, labUp } from '../lab';
import { createGateway } from '.';
import { listenAndConnect, type PjClient } from '../../test/socket';

describe('gateway', () => {
  const http = createServer();
  const gateway = createGateway(http);
  let client: PjClient;

  beforeAll(async () => {
    await labUp();
    ({ client } = await listenAndConnect(http));
  });
  afterAll(async () => {
    client.close();
    await gateway.close();
    await labDown();
  });

  it('streams the lab status to a watcher, and the change when the lab goes down', async () => {
    const statuses: LabStatus[] = [];
    client.on('lab:update', (s) => statuses.push(s));
    const now = await new Promise<Ack<LabStatus>>((res) => client.emit('lab:watch', {}, res));
    expect(now.ok && now.value.up).toBe(true);
    await labDown();
    await expect.poll(() => statuses.at(-1)?.up, { timeout: 5000 }).toBe(false);
    await labUp();
    await expect.poll(() => statuses.at(-1)?.up, { timeout: 5000 }).toBe(true);
    client.emit('lab:unwatch');
  });

  it('pushes to watchers only, and the watch ack reads a fresh status after an idle spell', async () => {
    const statuses: LabStatus[] = [];
    client.on('lab:update', (s) => statuses.push(s));
    await new Promise((r) => setTimeout(r, 1500)); // past the grace after the last unwatch
    await labDown();
    await new Promise((r) => setTimeout(r, 2500));
    expect(statuses).toEqual([]);
    const now = await new Promise<Ack<LabStatus>>((res) => client.emit('lab:watch', {}, res));
    expect(now.ok && now.value.up).toBe(false);
    await labUp();
    await expect.poll(() => statuses.at(-1)?.up, { timeout: 5000 }).toBe(true);
  });

  it('answers a malformed lab:run with a one-line error and changes nothing', async () => {
    const r = await new Promise<Ack<LabStatus>>((res) => client.emit('lab:run', { action: 'explode' }, res));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^action: /);
    const again = await new Promise<Ack<LabStatus>>((res) => client.emit('lab:run', 'not even an object', res));
    expect(again.ok).toBe(false);
  });

  it('answers an oversized capture upload with a one-line error, and stays connected', async () => {
    const base64 = 'A'.repeat(12 * 1024 * 1024); // 9 MB once decoded, over the 8 MB limit
    const r = await new Promise<Ack<unknown>>((res) =>
      client.emit('capture:decode-file', { name: 'big.pcap', base64 }, res),
    );
    expect(r).toMatchObject({ ok: false, error: 'upload is 9.0 MB; the limit is 8 MB' });
    expect(client.connected).toBe(true);
  });

  it('runs lab:run up as an idempotent no-op when the lab is up', async () => {
    const r = await new Promise<Ack<LabStatus>>((res) => client.emit('lab:run', { action: 'up' }, res));
    expect(r.ok && r.value.up).toBe(true);
  });
});
