// Loaded files, without tcpdump: the link type is per frame (a pcapng can mix interfaces).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE } from './decode';
import { SEED000_FRAME, SEED000_IP } from './fixtures/frames';
import { CaptureManager } from './manager';
import { readCaptureFile } from './pcap';
import { writePcapng } from './pcapng-writer';

const dir = mkdtempSync(join(tmpdir(), 'pjt-manager-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ethernet, raw IP, Ethernet: the last interface's link type is not the first frame's. */
function mixedFile(): Buffer {
  return writePcapng((w) => {
    const eth = w.iface('node1', 'eth0', LINKTYPE.ETHERNET);
    const raw = w.iface('node1', 'tun0', LINKTYPE.RAW);
    const at = (i: number): { tsSec: number; tsNsec: number } => ({ tsSec: 1700000000, tsNsec: i });
    w.packet(eth, { data: SEED000_FRAME, len: SEED000_FRAME.length, ...at(0) });
    w.packet(raw, { data: SEED000_IP, len: SEED000_IP.length, ...at(1) });
    w.packet(eth, { data: SEED000_FRAME, len: SEED000_FRAME.length, ...at(2) });
  });
}

const layers = (d: { packet: { layers: readonly { proto: string }[] } } | undefined): string[] =>
  (d?.packet.layers ?? []).map((l) => l.proto).slice(0, 2);

describe('a loaded pcapng with interfaces of different link types', () => {
  const mgr = new CaptureManager();

  it('decodes each frame with its own interface link type, in the list, the detail and for journeys', async () => {
    const c = await mgr.load(mixedFile(), 'mixed.pcapng', false, dir);
    const rows = c.watch({ rows: () => undefined, status: () => undefined }).rows;
    expect(rows.map((r) => r.malformed)).toEqual([false, false, false]);
    expect(rows[0]?.summary.endsWith(`: ${rows[1]?.summary}`)).toBe(true);
    expect(layers(c.detail(0))).toEqual(['eth', 'ipv4']);
    expect(layers(c.detail(1))).toEqual(['ipv4', 'tcp']);
    expect(layers(c.detail(2))).toEqual(['eth', 'ipv4']);
    const seen: number[] = [];
    c.forRecent((_i, _data, linktype) => seen.push(linktype));
    expect(seen).toEqual([LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.ETHERNET]);
  });

  it('saves an upload with one interface block per source interface, each with its link type', async () => {
    const c = await mgr.load(mixedFile(), 'mixed.pcapng', true, dir);
    const path = join(dir, c.fileName as string);
    const back = readCaptureFile(readFileSync(path));
    expect(back.interfaces.map((i) => [i.name, i.linktype])).toEqual([
      ['eth0@node1', LINKTYPE.ETHERNET],
      ['tun0@node1', LINKTYPE.RAW],
    ]);
    expect(back.records.map((r) => r.iface)).toEqual([0, 1, 0]);
    const protos = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.protocols'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(protos.trim().split('\n')).toEqual(['eth:ethertype:ip:tcp', 'raw:ip:tcp', 'eth:ethertype:ip:tcp']);
    const reopened = await mgr.open(c.fileName as string, undefined, dir);
    expect(layers(reopened.detail(1))).toEqual(['ipv4', 'tcp']);
  });
});
