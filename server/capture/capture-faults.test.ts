// Issue 10, defects 6, 10 and 11, against real tcpdumps on a veth between two namespaces (pjt-flt-*),
// through the server's socket gateway:
// - two saving captures started together on one interface get two files, and both keep running;
// - a tcpdump killed with SIGKILL is reported as killed, not with its start-up banner;
// - a capture whose namespace is deleted ends, failed, saying so (tcpdump alone never notices: the
//   namespace lives on, empty, for as long as tcpdump is in it).
// Run under the lab lock: flock /tmp/pj-lab.lock npx vitest run server/capture/capture-faults.test.ts
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway';
import { requestListener } from '../gateway/http';
import type { CaptureInfo } from '../protocol/capture';
import type { ClientToServerEvents } from '../protocol/index';
import { runTcpdump } from './tcpdump';
import { ask, listenAndConnect, type PjClient } from '../../test/socket';

const NS1 = 'pjt-flt-1';
const NS2 = 'pjt-flt-2';
/** The namespace the deletion test removes. */
const NS3 = 'pjt-flt-3';
const dir = mkdtempSync(join(tmpdir(), 'pjt-faults-'));
const previousDir = process.env.PJ_CAPTURE_DIR;
const run = (...argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
const delNs = (): void => {
  for (const ns of [NS1, NS2, NS3]) spawnSync('ip', ['netns', 'del', ns]);
};

const http = createServer(requestListener((_req, res) => void res.writeHead(404).end()));
let gateway: ReturnType<typeof createGateway>;
let client: PjClient;
const call = <T>(ev: keyof ClientToServerEvents, req: unknown) => ask<T>(client, ev, req);
/** The newest status pushed for each capture. */
const statuses = new Map<string, CaptureInfo>();

async function start(req: object): Promise<CaptureInfo> {
  const r = await call<CaptureInfo>('capture:start', { filter: '', ...req });
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

async function ended(id: string, ms = 8000): Promise<CaptureInfo> {
  await expect.poll(() => statuses.get(id)?.state, { timeout: ms }).toMatch(/^(stopped|failed)$/);
  return statuses.get(id) as CaptureInfo;
}

/** The pid of the one tcpdump whose argv carries `marker` (its filter). */
function tcpdumpWith(marker: string): number {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const hits = pids.filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return argv.includes('tcpdump') && argv.some((a) => a.includes(marker));
    } catch {
      return false;
    }
  });
  expect(hits).toHaveLength(1);
  return Number(hits[0]);
}

beforeAll(async () => {
  delNs();
  for (const ns of [NS1, NS2, NS3]) run('ip', 'netns', 'add', ns);
  run('ip', 'link', 'add', 'pjf-1', 'netns', NS1, 'type', 'veth', 'peer', 'name', 'pjf-2', 'netns', NS2);
  run('ip', 'link', 'add', 'pjf-3', 'netns', NS3, 'type', 'veth', 'peer', 'name', 'pjf-4', 'netns', NS2);
  run('ip', '-n', NS1, 'addr', 'add', '10.197.0.1/24', 'dev', 'pjf-1');
  run('ip', '-n', NS2, 'addr', 'add', '10.197.0.2/24', 'dev', 'pjf-2');
  for (const [ns, dev] of [
    [NS1, 'pjf-1'],
    [NS2, 'pjf-2'],
    [NS3, 'pjf-3'],
    [NS2, 'pjf-4'],
  ] as const)
    run('ip', '-n', ns, 'link', 'set', dev, 'up');
  process.env.PJ_CAPTURE_DIR = dir;
  gateway = createGateway(http);
  ({ client } = await listenAndConnect(http));
  client.on('capture:status', (info) => statuses.set(info.id, info));
});

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await new Promise<void>((r) => http.close(() => r()));
  delNs();
  if (previousDir === undefined) delete process.env.PJ_CAPTURE_DIR;
  else process.env.PJ_CAPTURE_DIR = previousDir;
  rmSync(dir, { recursive: true, force: true });
});

describe('capture faults', () => {
  it('two saving captures started at once on one interface get two files and both run', async () => {
    const [a, b, c] = await Promise.all(
      [1, 2, 3].map(() => start({ netns: NS1, iface: 'pjf-1', filter: 'icmp', save: true })),
    );
    const names = [a, b, c].map((x) => x?.fileName);
    expect(new Set(names).size).toBe(3);
    // The files open with the first packet: the one that lost the name used to fail then, with EEXIST.
    spawnSync('ip', ['netns', 'exec', NS2, 'ping', '-c', '2', '-i', '0.2', '10.197.0.1'], { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    for (const x of [a, b, c]) {
      const stopped = await call<CaptureInfo>('capture:stop', { id: x?.id });
      expect(stopped.ok && { state: stopped.value.state, reason: stopped.value.exit?.reason }).toEqual({
        state: 'stopped',
        reason: 'stopped by user',
      });
      expect(stopped.ok && stopped.value.packets).toBe(4);
      expect(existsSync(join(dir, x?.fileName ?? ''))).toBe(true);
    }
  });

  it('of two starts with the same name at once, one runs and the other is refused, with one line', async () => {
    const req = { netns: NS1, iface: 'pjf-1', filter: 'icmp', save: true, name: 'same.pcapng' };
    const acks = await Promise.all([1, 2].map(() => call<CaptureInfo>('capture:start', req)));
    const ok = acks.flatMap((a) => (a.ok ? [a.value] : []));
    expect(ok).toHaveLength(1);
    expect(acks.find((a) => !a.ok)).toMatchObject({ ok: false, error: 'a capture named "same.pcapng" already exists' });
    spawnSync('ip', ['netns', 'exec', NS2, 'ping', '-c', '1', '10.197.0.1'], { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await call<CaptureInfo>('capture:stop', { id: ok[0]?.id });
    expect(stopped.ok && [stopped.value.state, stopped.value.packets]).toEqual(['stopped', 2]);
  });

  it('a tcpdump killed with SIGKILL is reported as killed, not with its start-up banner', async () => {
    const marker = 'host 10.197.0.77';
    const c = await start({ netns: NS1, iface: 'pjf-1', filter: marker, save: false });
    process.kill(tcpdumpWith(marker), 'SIGKILL');
    const info = await ended(c.id);
    expect(info.state).toBe('failed');
    expect(info.exit).toEqual({ code: null, signal: 'SIGKILL', reason: 'tcpdump was killed by SIGKILL' });
  });

  it('a capture whose namespace is deleted ends, failed, saying so', async () => {
    const c = await start({ netns: NS3, iface: 'pjf-3', save: true });
    run('ip', 'netns', 'del', NS3);
    const t0 = Date.now();
    const info = await ended(c.id, 5000);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(info.state).toBe('failed');
    expect(info.exit?.reason).toBe(`namespace "${NS3}" was deleted: pjf-3 went away with it`);
    // With tcpdump gone the namespace is freed, and the veth with it.
    await expect.poll(() => spawnSync('ip', ['-n', NS2, 'link', 'show', 'pjf-4']).status).not.toBe(0);
  });
});

describe('a killed tcpdump reports its last error line, never its banner', () => {
  it('names the signal and the last line that is an error', async () => {
    // A stand-in that prints what tcpdump prints, an error, and is then killed.
    const script = [
      'echo "tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes" >&2',
      'echo "tcpdump: pcap_loop: recvfrom: Bad address" >&2',
      'kill -9 $$',
    ].join('; ');
    const td = runTcpdump(['sh', '-c', script], { record: () => undefined, unreadable: () => undefined });
    const e = await td.ended;
    expect(e.reason).toBe('tcpdump was killed by SIGKILL; last error: pcap_loop: recvfrom: Bad address');
    expect(e.failed).toBe(true);
  });
});
