// Live tcpdump captures against the real kernel, in a netns pair of our own (pjt-capture-*), plus the
// error paths: bad filter, unknown namespace/interface, path traversal. Needs root (CI runs as root).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PacketRow } from '../protocol/capture';
import { CaptureManager } from './manager';
import { readCaptureFile } from './pcap';
import { readFileSync, writeFileSync } from 'node:fs';
import { annotatedExport } from './http';
import { CaptureError } from './targets';

const NS_A = 'pjt-capture-a';
const NS_B = 'pjt-capture-b';
const IF_A = 'pjc-a0';
const IF_B = 'pjc-b0';
const run = (...argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const ping = (n: number): void => {
  spawnSync('ip', ['netns', 'exec', NS_B, 'ping', '-c', String(n), '-i', '0.2', '-W', '1', '10.199.0.1'], {
    timeout: 10_000,
  });
};
const dir = mkdtempSync(join(tmpdir(), 'pjt-capture-live-'));
const mgr = new CaptureManager();

function cleanup(): void {
  for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns]);
}

beforeAll(() => {
  cleanup();
  run('ip', 'netns', 'add', NS_A);
  run('ip', 'netns', 'add', NS_B);
  run('ip', 'link', 'add', IF_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', IF_B, 'netns', NS_B);
  run('ip', '-n', NS_A, 'addr', 'add', '10.199.0.1/24', 'dev', IF_A);
  run('ip', '-n', NS_B, 'addr', 'add', '10.199.0.2/24', 'dev', IF_B);
  for (const [ns, i] of [
    [NS_A, IF_A],
    [NS_B, IF_B],
  ] as const) {
    run('ip', '-n', ns, 'link', 'set', i, 'up');
    run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
});

afterAll(async () => {
  await mgr.stopAll();
  cleanup();
  rmSync(dir, { recursive: true, force: true });
  // Leak check: no tcpdump of ours left (they would still hold the namespace).
  expect(
    spawnSync('pgrep', ['-f', `tcpdump -i ${IF_A}`])
      .stdout.toString()
      .trim(),
  ).toBe('');
});

describe('live capture on a veth during a ping', () => {
  it('captures the echo requests and replies, decodes them, saves annotated pcapng tshark can read', async () => {
    const c = await mgr.start({
      netns: NS_A,
      iface: IF_A,
      filter: 'icmp',
      count: 4,
      save: true,
      name: 'ping.pcapng',
      dir,
    });
    expect(c.state).toBe('running');
    const seen: PacketRow[] = [];
    c.watch({ rows: (r) => seen.push(...r), status: () => undefined });
    ping(2);
    await c.done;
    const info = c.info();
    expect(info.state).toBe('stopped');
    expect(info.packets).toBe(4);
    expect(info.exit?.reason).toMatch(/count reached/);
    expect(info.kernel?.received).toBeGreaterThanOrEqual(4);
    expect(seen.map((r) => r.summary.replace(/^.*length \d+: /, '').replace(/, id \d+/, ''))).toEqual([
      '10.199.0.2 > 10.199.0.1: ICMP echo request, seq 1, length 64',
      '10.199.0.1 > 10.199.0.2: ICMP echo reply, seq 1, length 64',
      '10.199.0.2 > 10.199.0.1: ICMP echo request, seq 2, length 64',
      '10.199.0.1 > 10.199.0.2: ICMP echo reply, seq 2, length 64',
    ]);
    const path = join(dir, 'ping.pcapng');
    const names = execFileSync(
      'tshark',
      ['-r', path, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'icmp.type'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(names.trim().split('\n')).toEqual([
      `${IF_A}@${NS_A}\t8`,
      `${IF_A}@${NS_A}\t0`,
      `${IF_A}@${NS_A}\t8`,
      `${IF_A}@${NS_A}\t0`,
    ]);
    const back = readCaptureFile(readFileSync(path));
    expect(back.records).toHaveLength(4);
    // The detail view decodes from memory with byte ranges and hex.
    // Tracer hops and a user note, exported as pcapng comments next to the packets.
    await c.annotate(0, [{ source: 'hop', text: `${NS_A} ${IF_A} ingress, verdict accept` }], 'hop');
    await c.setNote(1, 'the first reply');
    await expect(c.annotate(99, [], 'hop')).rejects.toThrow('no packet #99');
    const exported = join(dir, 'exported.pcapng');
    writeFileSync(exported, await annotatedExport('ping.pcapng', dir));
    const comments = execFileSync('tshark', ['-r', exported, '-T', 'fields', '-e', 'frame.comment'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(comments.split('\n').slice(0, 3)).toEqual([
      `hop: ${NS_A} ${IF_A} ingress, verdict accept`,
      'note: the first reply',
      '',
    ]);
    expect(c.detail(1)?.notes).toEqual(['the first reply']);
    expect(c.detail(0)?.annotations).toEqual([{ source: 'hop', text: `${NS_A} ${IF_A} ingress, verdict accept` }]);
    const d = c.detail(0);
    expect(d?.packet.layers.map((l) => l.proto)).toEqual(['eth', 'ipv4', 'icmp', 'payload']);
    expect(d?.hex.length).toBe(98 * 2);
  });

  it('runs several captures at once; stop ends one with its counters, the other keeps going', async () => {
    const a = await mgr.start({ netns: NS_A, iface: IF_A, filter: '', save: true, dir });
    const b = await mgr.start({ netns: NS_B, iface: IF_B, filter: 'icmp[icmptype] == icmp-echo', save: false, dir });
    b.watch({ rows: () => undefined, status: () => undefined });
    ping(3);
    await new Promise((r) => setTimeout(r, 300));
    a.stop();
    await a.done;
    expect(a.info().state).toBe('stopped');
    expect(a.info().exit?.reason).toBe('stopped by user');
    expect(a.info().packets).toBeGreaterThanOrEqual(6);
    expect(a.info().kernel).not.toBeNull();
    expect(b.live).toBe(true);
    expect(b.info().packets).toBe(3);
    b.stop();
    await b.done;
  });

  it('an unsaved capture nobody watches stops by itself', async () => {
    const c = await mgr.start({ netns: NS_A, iface: IF_A, filter: '', save: false, dir });
    const w = c.watch({ rows: () => undefined, status: () => undefined });
    w.unwatch();
    await c.done;
    expect(c.info().exit?.reason).toMatch(/nobody is watching/);
  });

  it('keeps tcpdump stderr as the failure reason when the interface disappears', async () => {
    run('ip', '-n', NS_A, 'link', 'add', 'pjc-gone', 'type', 'veth', 'peer', 'name', 'pjc-gone-p');
    run('ip', '-n', NS_A, 'link', 'set', 'pjc-gone', 'up');
    const c = await mgr.start({ netns: NS_A, iface: 'pjc-gone', filter: '', save: false, dir });
    c.watch({ rows: () => undefined, status: () => undefined });
    run('ip', '-n', NS_A, 'link', 'del', 'pjc-gone');
    await c.done;
    expect(c.info().state).toBe('failed');
    expect(c.info().exit?.reason).toMatch(/interface|device/i);
  });
});

describe('clear errors, nothing started', () => {
  const before = (): string[] => readdirSync(dir).sort();

  it('bad filter -> tcpdump error', async () => {
    const files = before();
    await expect(mgr.start({ netns: NS_A, iface: IF_A, filter: 'udp prt 53', save: true, dir })).rejects.toThrow(
      /^bad filter: can't parse filter expression: syntax error/,
    );
    expect(before()).toEqual(files);
  });

  it('a filter that looks like an option stays a filter', async () => {
    await expect(
      mgr.start({ netns: NS_A, iface: IF_A, filter: '-w /tmp/pjt-capture-evil', save: false, dir }),
    ).rejects.toThrow(/bad filter/);
    expect(existsSync('/tmp/pjt-capture-evil')).toBe(false);
  });

  it('unknown namespace, unknown interface', async () => {
    await expect(mgr.start({ netns: 'pjt-capture-nope', iface: IF_A, filter: '', save: false, dir })).rejects.toThrow(
      'unknown namespace "pjt-capture-nope"',
    );
    await expect(mgr.start({ netns: NS_A, iface: 'nope0', filter: '', save: false, dir })).rejects.toThrow(
      `no interface "nope0" in namespace "${NS_A}"`,
    );
  });

  it('an interface that is down is named as the problem, not the filter', async () => {
    run('ip', '-n', NS_A, 'link', 'add', 'pjc-down', 'type', 'veth', 'peer', 'name', 'pjc-down-p');
    try {
      await expect(mgr.start({ netns: NS_A, iface: 'pjc-down', filter: 'icmp', save: false, dir })).rejects.toThrow(
        `cannot capture on pjc-down in "${NS_A}": That device is not up`,
      );
    } finally {
      run('ip', '-n', NS_A, 'link', 'del', 'pjc-down');
    }
  });

  it('path traversal in the file name', async () => {
    for (const name of ['../escape.pcapng', '/etc/x.pcapng', '..pcapng', 'a/../../b.pcapng']) {
      const e = await mgr
        .start({ netns: NS_A, iface: IF_A, filter: '', save: true, name, dir })
        .catch((x: unknown) => x);
      expect(e, name).toBeInstanceOf(CaptureError);
      expect(String(e)).toMatch(/path|capture names|bad capture name/);
    }
    expect(existsSync(join(dir, '..', 'escape.pcapng'))).toBe(false);
  });

  it('the CLI prints one-line errors and exits non-zero', () => {
    const r = spawnSync(
      'npx',
      ['tsx', 'server/cli.ts', 'capture', '--netns', NS_A, '--iface', IF_A, '--filter', 'tcp port', '-w', 'x.pcapng'],
      {
        encoding: 'utf8',
        env: { ...process.env, PJ_CAPTURE_DIR: dir },
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^packet-journey capture: bad filter: /);
  });

  it('the CLI captures with --count and writes into the captures folder', () => {
    const child = spawnSync(
      'bash',
      // Ping until the CLI is done: its start-up time varies with machine load.
      [
        '-c',
        `(while :; do ip netns exec ${NS_B} ping -c 1 -W 1 10.199.0.1 >/dev/null; sleep 0.3; done) & P=$!; npx tsx server/cli.ts capture --netns ${NS_A} --iface ${IF_A} --filter 'icmp[icmptype] == icmp-echo' --count 2 --seconds 25 -w cli.pcapng --json; R=$?; kill $P; exit $R`,
      ],
      { encoding: 'utf8', env: { ...process.env, PJ_CAPTURE_DIR: dir }, timeout: 30_000 },
    );
    expect(child.status).toBe(0);
    const lines = child.stdout.trim().split('\n');
    expect(JSON.parse(lines[0] as string).summary).toMatch(/ICMP echo request/);
    expect(existsSync(join(dir, 'cli.pcapng'))).toBe(true);
  });
});
