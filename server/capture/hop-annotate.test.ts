// Tracer hops become packet comments: a capture on node1's veth-pod-a during a real follow pod-a → pod-c
// gets `hop:` annotations on the echo request and reply, and the exported pcapng carries them (tshark).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp } from '../lab';
import type { CaptureInfo, PacketDetail } from '../protocol/capture';
import type { Journey } from '../protocol/tracer';
import { hopText, ipv4Identity, ipv6Key } from './hop-annotate';
import { ask, type PjClient } from '../../test/socket';
import { startTestServer, type TestServer } from '../../test/server';

// An Ethernet + 802.1Q + IPv4/ICMP frame: 10.244.1.2 → 10.244.2.2, IP id 0x1234.
const frame = Uint8Array.from([
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  ...[0x81, 0x00, 0x00, 0x64, 0x08, 0x00],
  ...[0x45, 0, 0, 28, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 244, 1, 2, 10, 244, 2, 2],
  ...[8, 0, 0, 0, 0, 1, 0, 1],
]);

describe('ipv4Identity', () => {
  it('reads the IPv4 identity through VLAN tags', () => {
    expect(ipv4Identity(frame, 1)).toEqual({ src: '10.244.1.2', dst: '10.244.2.2', proto: 1, id: 0x1234 });
  });
  it('returns undefined for truncated, non-IPv4 or unknown link types, never throws', () => {
    expect(ipv4Identity(frame.slice(0, 30), 1)).toBeUndefined();
    expect(ipv4Identity(Uint8Array.from([...frame.slice(0, 16), 0x86, 0xdd, ...frame.slice(18)]), 1)).toBeUndefined();
    expect(ipv4Identity(frame, 9999)).toBeUndefined();
    expect(ipv4Identity(new Uint8Array(0), 1)).toBeUndefined();
  });
});

// Ethernet + IPv6/ICMPv6 echo request: fd00:10:244:1::2 → fd00:10:244:2::2, id 7, seq 3, 8 bytes of ICMPv6.
const frame6 = Uint8Array.from([
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd],
  ...[0x60, 0x01, 0x23, 0x45, 0, 8, 58, 64],
  ...[0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2],
  ...[0xfd, 0, 0, 0x10, 0x02, 0x44, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2],
  ...[128, 0, 0, 0, 0, 7, 0, 3],
]);

describe('ipv6Key', () => {
  it('tells an IPv6 frame by addresses, next header, length and ICMPv6 type and sequence', () => {
    expect(ipv6Key(frame6, 1)).toBe('fd00:10:244:1::2>fd00:10:244:2::2/58/v6:48/128.3//');
    expect(ipv6Key(frame6.slice(14), 101)).toBe(ipv6Key(frame6, 1)); // raw IP
    expect(ipv6Key(frame, 1)).toBeUndefined();
    expect(ipv6Key(frame6.slice(0, 40), 1)).toBeUndefined();
    expect(ipv4Identity(frame6, 1)).toBeUndefined();
  });
});

describe('tracer hops as capture annotations (real kernel)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pjt-hops-'));
  const name = `pjt-hops-${Date.now()}.pcapng`;
  let server: TestServer | undefined;
  let client: PjClient;
  let base = '';
  const call = <T>(ev: 'capture:start' | 'capture:stop' | 'capture:packet' | 'tracer:follow', req: unknown) =>
    ask<T>(client, ev, req);

  /** The hop annotations on a capture's first `n` packets. */
  const hopTexts = async (id: string, n: number): Promise<string[]> => {
    const texts: string[] = [];
    for (let index = 0; index < n; index++) {
      const d = await call<PacketDetail>('capture:packet', { id, index });
      if (!d.ok) break;
      texts.push(...d.value.annotations.filter((a) => a.source === 'hop').map((a) => a.text));
    }
    return texts;
  };

  beforeAll(async () => {
    process.env.PJ_CAPTURE_DIR = dir;
    await labUp();
    server = await startTestServer();
    ({ base, client } = server);
  });
  afterAll(async () => {
    await server?.close();
    await labDown();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.PJ_CAPTURE_DIR;
  });

  it('annotates the frames a followed ping crossed, and exports them as pcapng comments', async () => {
    const started = await call<CaptureInfo>('capture:start', {
      netns: 'node1',
      iface: 'veth-pod-a',
      filter: 'icmp',
      save: true,
      name,
    });
    expect(started.ok, started.ok ? '' : started.error).toBe(true);
    if (!started.ok) return;
    const id = started.value.id;

    const followed = await call<Journey>('tracer:follow', { from: 'pod-a', to: 'pod-c', proto: 'icmp' });
    expect(followed.ok, followed.ok ? '' : followed.error).toBe(true);
    if (!followed.ok) return;
    expect(followed.value.delivered).toBe(true);

    // The request (ingress on veth-pod-a) and the reply (egress) are both on this capture.
    await expect
      .poll(() => hopTexts(id, 8), { timeout: 5000 })
      .toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^node1 veth-pod-a ingress; 10\.244\.1\.2 → 10\.244\.2\.2;.*request hop/),
          expect.stringMatching(/^node1 veth-pod-a egress; 10\.244\.2\.2 → 10\.244\.1\.2;.*reply hop/),
        ]),
      );

    const stopped = await call<CaptureInfo>('capture:stop', { id });
    expect(stopped.ok).toBe(true);
    await expect.poll(async () => (await fetch(`${base}/captures/${name}`)).status).toBe(200);
    const bytes = Buffer.from(await (await fetch(`${base}/captures/${name}`)).arrayBuffer());
    const file = join(dir, 'export.pcapng');
    writeFileSync(file, bytes);
    const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'frame.comment'], {
      encoding: 'utf8',
    });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain('veth-pod-a@node1');
    expect(t.stdout).toMatch(/hop: node1 veth-pod-a ingress; 10\.244\.1\.2 → 10\.244\.2\.2/);
  });

  it('annotates the IPv6 frames a followed ping6 crossed, and exports them as pcapng comments', async () => {
    const v6name = `pjt-hops6-${Date.now()}.pcapng`;
    const started = await call<CaptureInfo>('capture:start', {
      netns: 'node1',
      iface: 'veth-pod-a',
      // Echo requests and replies only: neighbour discovery is ICMPv6 too.
      filter: 'icmp6 and (ip6[40] == 128 or ip6[40] == 129)',
      save: true,
      name: v6name,
    });
    expect(started.ok, started.ok ? '' : started.error).toBe(true);
    if (!started.ok) return;
    const id = started.value.id;
    const followed = await call<Journey>('tracer:follow', { from: 'pod-a', to: 'fd00:10:244:2::2', proto: 'icmp' });
    expect(followed.ok, followed.ok ? '' : followed.error).toBe(true);
    if (!followed.ok) return;
    expect(followed.value.delivered).toBe(true);
    await expect
      .poll(() => hopTexts(id, 4), { timeout: 5000 })
      .toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^node1 veth-pod-a ingress; fd00:10:244:1::2 → fd00:10:244:2::2;.*request hop/),
          expect.stringMatching(/^node1 veth-pod-a egress; fd00:10:244:2::2 → fd00:10:244:1::2;.*reply hop/),
        ]),
      );
    expect((await call<CaptureInfo>('capture:stop', { id })).ok).toBe(true);
    await expect.poll(async () => (await fetch(`${base}/captures/${v6name}`)).status).toBe(200);
    const file = join(dir, 'export6.pcapng');
    writeFileSync(file, Buffer.from(await (await fetch(`${base}/captures/${v6name}`)).arrayBuffer()));
    const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/hop: node1 veth-pod-a ingress; fd00:10:244:1::2 → fd00:10:244:2::2/);
  });

  it('formats a hop with NAT, verdict and drop', () => {
    const j = { id: 'j1', from: 'pod-a', to: '10.96.0.10' } as Journey;
    const text = hopText(j, 'request', {
      seq: 3,
      netns: 'node1',
      ifname: 'eth0',
      dir: 'egress',
      src: '10.244.1.2',
      dst: '10.244.2.2',
      sport: 40001,
      dport: 8080,
      nat: { kind: 'dnat', from: '10.96.0.10:80', to: '10.244.2.2:8080' },
      netfilter: [
        { hook: 'FORWARD', verdict: 'accept' },
        { hook: 'POST_ROUTING', verdict: 'seen' },
      ],
      verdict: 'accept',
    } as Journey['hops'][number]);
    // The same words as the CLI's table: vocab's endpoint, NAT and verdict text.
    expect(text).toBe(
      'node1 eth0 egress; 10.244.1.2:40001 → 10.244.2.2:8080; DNAT 10.96.0.10:80 → 10.244.2.2:8080; FORWARD ACCEPT; journey j1 pod-a → 10.96.0.10 request hop 3',
    );
    const dropped = hopText(j, 'request', {
      seq: 2,
      netns: 'node1',
      ifname: 'eth0',
      dir: 'end',
      src: '10.244.1.2',
      dst: '10.244.2.2',
      drop: { reason: 'NETFILTER_DROP', where: 'nf_hook_slow+0x9c', isRealDrop: true, byNetfilter: true },
    } as Journey['hops'][number]);
    expect(dropped).toBe(
      'node1 eth0 end; 10.244.1.2 → 10.244.2.2; DROP NETFILTER_DROP at nf_hook_slow+0x9c; journey j1 pod-a → 10.96.0.10 request hop 2',
    );
  });
});
