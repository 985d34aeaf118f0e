// The capture socket events and the download route, end to end through a real socket.io server and
// client, a real netns pair (pjt-capture-s*) and tshark reading the export.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PjServer } from '../gateway/types';
import type { CapturePacketsMsg, ClientToServerEvents } from '../protocol/index';
import { SEED000_FRAME, vxlanFrame } from './fixtures/frames';
import { handleCaptureDownload } from './http';
import { captureManager } from './manager';
import { writePcap } from './pcap';
import { writePcapng } from './pcapng-writer';
import { attach } from './socket';
import { ask, listenAndConnect, type PjClient } from '../../test/socket';

const NS1 = 'pjt-capture-s1';
const NS2 = 'pjt-capture-s2';
const dir = mkdtempSync(join(tmpdir(), 'pjt-capture-sock-'));
process.env.PJ_CAPTURE_DIR = dir;
const run = (...argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });

let http: HttpServer;
let io: PjServer;
let detach: () => void;
let client: PjClient;
let base = '';

const call = <T>(ev: keyof ClientToServerEvents, req: unknown) => ask<T>(client, ev, req);

beforeAll(async () => {
  for (const ns of [NS1, NS2]) spawnSync('ip', ['netns', 'del', ns]);
  run('ip', 'netns', 'add', NS1);
  run('ip', 'netns', 'add', NS2);
  run('ip', 'link', 'add', 'pjc-s1', 'netns', NS1, 'type', 'veth', 'peer', 'name', 'pjc-s2', 'netns', NS2);
  run('ip', '-n', NS1, 'addr', 'add', '10.198.0.1/24', 'dev', 'pjc-s1');
  run('ip', '-n', NS2, 'addr', 'add', '10.198.0.2/24', 'dev', 'pjc-s2');
  run('ip', '-n', NS1, 'link', 'set', 'pjc-s1', 'up');
  run('ip', '-n', NS2, 'link', 'set', 'pjc-s2', 'up');
  http = createServer((req, res) => {
    if (!handleCaptureDownload(req, res)) {
      res.writeHead(404);
      res.end('not ours');
    }
  });
  io = new Server(http, { maxHttpBufferSize: 16 * 1024 * 1024 });
  detach = attach(io);
  ({ base, client } = await listenAndConnect(http));
});

afterAll(async () => {
  client?.close();
  detach?.();
  await captureManager.stopAll();
  await io?.close();
  for (const ns of [NS1, NS2]) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(dir, { recursive: true, force: true });
});

describe('capture socket events', () => {
  it('filter-check returns bytecode or tcpdump error', async () => {
    const good = await call<{ bytecode: string }>('capture:filter-check', {
      netns: NS1,
      iface: 'pjc-s1',
      filter: 'icmp',
    });
    expect(good.ok && good.value.bytecode).toMatch(/^\(000\) ldh\s+\[12\]/);
    const bad = await call('capture:filter-check', { netns: NS1, iface: 'pjc-s1', filter: 'icmp and' });
    expect(bad).toMatchObject({ ok: false, error: expect.stringMatching(/^bad filter: /) as unknown });
    const badNs = await call('capture:filter-check', { netns: '../etc', filter: 'icmp' });
    expect(badNs.ok).toBe(false);
  });

  it('targets list our namespace with its veth', async () => {
    const r = await call<{ netns: string; ifaces: { name: string }[] }[]>('capture:targets', {});
    if (!r.ok) throw new Error(r.error);
    const t = r.value.find((x) => x.netns === NS1);
    expect(t?.ifaces.map((i) => i.name)).toContain('pjc-s1');
  });

  it('streams a live capture as batched arrays, then a detail with hex, a note, and an annotated download', async () => {
    const batches: CapturePacketsMsg[] = [];
    client.on('capture:packets', (m) => batches.push(m));
    const started = await call<{ id: string; fileName: string }>('capture:start', {
      netns: NS1,
      iface: 'pjc-s1',
      filter: 'icmp',
      save: true,
      name: 'sock.pcapng',
    });
    if (!started.ok) throw new Error(started.error);
    const id = started.value.id;
    spawnSync('ip', ['netns', 'exec', NS2, 'ping', '-c', '3', '-i', '0.2', '10.198.0.1'], { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await call<{ state: string; packets: number }>('capture:stop', { id });
    expect(stopped.ok && stopped.value.state).toBe('stopped');
    expect(stopped.ok && stopped.value.packets).toBe(6);
    const rows = batches.filter((b) => b.id === id).flatMap((b) => b.rows);
    expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    // Batched: fewer emits than packets is not guaranteed at 5 pps, but each emit is an array.
    expect(batches.every((b) => Array.isArray(b.rows))).toBe(true);

    const d = await call<{ hex: string; packet: { layers: { proto: string }[] } }>('capture:packet', { id, index: 1 });
    expect(d.ok && d.value.packet.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'icmp', 'payload']);
    const note = await call('capture:note', { id, index: 1, text: 'the first reply' });
    expect(note).toEqual({ ok: true, value: null });

    const res = await fetch(`${base}/captures/sock.pcapng`);
    expect(res.status).toBe(200);
    const file = join(dir, 'downloaded.pcapng');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const out = execFileSync(
      'tshark',
      ['-r', file, '-T', 'fields', '-e', 'frame.comment', '-e', 'frame.interface_name'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const lines = out.replace(/\n$/, '').split('\n');
    expect(lines[1]).toBe(`note: the first reply\tpjc-s1@${NS1}`);
    expect(lines[0]).toBe(`\tpjc-s1@${NS1}`);
  });

  it('decodes an uploaded pcap with a DSR packet and rejects oversized or bad uploads', async () => {
    const pcap = writePcap(1, [
      { data: SEED000_FRAME, tsSec: 1700000000, tsNsec: 0 },
      { data: vxlanFrame(), tsSec: 1700000001, tsNsec: 0 },
    ]);
    const r = await call<{
      info: { id: string; fileName: string };
      rows: { dsr: { addr: string; port: number } | null }[];
    }>('capture:decode-file', {
      name: 'seed000.pcap',
      base64: pcap.toString('base64'),
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.rows[0]?.dsr).toMatchObject({ addr: '172.18.0.2', port: 31400 });
    expect(r.value.rows[1]?.dsr).toBeNull();
    const saved = r.value.info.fileName;
    const out = execFileSync('tshark', ['-r', join(dir, saved), '-T', 'fields', '-e', 'frame.comment'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out).toContain('dsr: service 172.18.0.2:31400');

    const big = await call('capture:decode-file', { name: 'big.pcap', base64: 'A'.repeat(12 * 1024 * 1024) });
    expect(big).toMatchObject({ ok: false, error: 'upload is 9.0 MB; the limit is 8 MB' });
    const junk = await call('capture:decode-file', {
      name: 'junk.pcap',
      base64: Buffer.from('not a capture at all').toString('base64'),
    });
    expect(junk.ok === false && junk.error).toMatch(/not a pcap or pcapng file/);
  });

  it('an annotated pcapng upload keeps its notes and hops, once, through to the download', async () => {
    const file = writePcapng((w) => {
      const i = w.iface('node1', 'eth0', 1);
      w.packet(i, { data: SEED000_FRAME, tsSec: 1700000000, tsNsec: 0, len: SEED000_FRAME.length }, [
        { source: 'dsr', text: 'service 172.18.0.2:31400' },
        { source: 'hop', text: 'node1 eth0 ingress, DNAT' },
        { source: 'note', text: 'look here' },
      ]);
    });
    const r = await call<{ info: { id: string; fileName: string; netns: string; iface: string } }>(
      'capture:decode-file',
      { name: 'annotated.pcapng', base64: file.toString('base64') },
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.info).toMatchObject({ netns: 'node1', iface: 'eth0' });
    const d = await call<{ notes: string[]; annotations: { source: string; text: string }[] }>('capture:packet', {
      id: r.value.info.id,
      index: 0,
    });
    expect(d.ok && d.value.notes).toEqual(['look here']);
    expect(d.ok && d.value.annotations).toEqual([{ source: 'hop', text: 'node1 eth0 ingress, DNAT' }]);
    const res = await fetch(`${base}/captures/${r.value.info.fileName}`);
    const out = join(dir, 'annotated-back.pcapng');
    writeFileSync(out, Buffer.from(await res.arrayBuffer()));
    const comments = execFileSync('tshark', ['-r', out, '-T', 'fields', '-E', 'aggregator=|', '-e', 'frame.comment'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(comments.trim().split('|').sort()).toEqual([
      'dsr: service 172.18.0.2:31400 (Cilium IPv4 option 0x9a, port bytes a87a and address bytes 020012ac read little-endian (host order))',
      'hop: node1 eth0 ingress, DNAT',
      'note: look here',
    ]);
  });

  it('lists, refuses traversal, deletes; download route validates names', async () => {
    const list = await call<{ saved: { name: string }[] }>('capture:list', {});
    expect(list.ok && list.value.saved.map((s) => s.name)).toContain('sock.pcapng');
    const trav = await call('capture:delete', { name: '../../etc/passwd' });
    expect(trav.ok).toBe(false);
    expect((await fetch(`${base}/captures/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
    expect((await fetch(`${base}/captures/missing.pcapng`)).status).toBe(404);
    expect(await (await fetch(`${base}/elsewhere`)).text()).toBe('not ours');
    expect(await call('capture:delete', { name: 'sock.pcapng' })).toEqual({ ok: true, value: null });
    expect((await fetch(`${base}/captures/sock.pcapng`)).status).toBe(404);
    const again = await call('capture:delete', { name: 'sock.pcapng' });
    expect(again).toMatchObject({ ok: false, error: 'no capture named "sock.pcapng"' });
  });
});
