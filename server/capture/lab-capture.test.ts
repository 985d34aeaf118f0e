// A live capture on a lab veth (node1's veth-pod-a) during a ping across nodes. Run under the lab lock:
//   flock /tmp/pj-lab.lock npx vitest run server/capture/lab-capture.test.ts
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labUp } from '../lab/index';
import type { PacketRow } from '../protocol/capture';
import { CaptureManager } from './manager';

const dir = mkdtempSync(join(tmpdir(), 'pjt-capture-lab-'));
const mgr = new CaptureManager();

beforeAll(async () => {
  await labUp();
}, 120_000);

afterAll(async () => {
  await mgr.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

it('captures pod-a -> pod-c pings on veth-pod-a inside node1', async () => {
  const c = await mgr.start({
    netns: 'node1',
    iface: 'veth-pod-a',
    filter: 'icmp and host 10.244.2.2',
    count: 4,
    save: true,
    name: 'lab.pcapng',
    dir,
  });
  const rows: PacketRow[] = [];
  c.watch({ rows: (r) => rows.push(...r), status: () => undefined });
  const ping = spawnSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-c', '2', '-i', '0.3', '-W', '2', '10.244.2.2'], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  expect(ping.status, ping.stdout + ping.stderr).toBe(0);
  await c.done;
  expect(c.info().packets).toBe(4);
  expect(rows.filter((r) => / 10\.244\.1\.2 > 10\.244\.2\.2: ICMP echo request/.test(r.summary))).toHaveLength(2);
  expect(rows.filter((r) => / 10\.244\.2\.2 > 10\.244\.1\.2: ICMP echo reply/.test(r.summary))).toHaveLength(2);
  // The Ethernet header is the veth's: pod-a's MAC as the request's source.
  const podMac = JSON.parse(
    spawnSync('ip', ['-j', '-n', 'pod-a', 'link', 'show', 'eth0'], { encoding: 'utf8' }).stdout,
  )[0].address as string;
  expect(rows[0]?.summary.startsWith(`${podMac} > `)).toBe(true);
});
