import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAnnotations, decodeFrame, LINKTYPE } from './decode';
import { SEED000_FRAME, arpRequest, geneveDsrFrame, vxlanFrame } from './fixtures/frames';
import { PcapStreamParser, readCaptureFile, readNamedCaptureFile, writePcap, type CaptureRecord } from './pcap';
import { writePcapng } from './pcapng-writer';

const dir = mkdtempSync(join(tmpdir(), 'pjt-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frames = [SEED000_FRAME, arpRequest(), vxlanFrame(), geneveDsrFrame()];

describe('pcap reader', () => {
  it('parses a stream fed one byte at a time like a whole buffer', () => {
    const file = writePcap(
      LINKTYPE.ETHERNET,
      frames.map((data, i) => ({ data, tsSec: 1700000000 + i, tsNsec: 123000 })),
    );
    const got: CaptureRecord[] = [];
    const p = new PcapStreamParser((r) => got.push(r));
    for (let i = 0; i < file.length; i++) p.push(file.subarray(i, i + 1));
    expect(p.error).toBeNull();
    expect(p.linktype).toBe(1);
    expect(got.map((r) => r.data.length)).toEqual(frames.map((f) => f.length));
    expect(got[2]?.tsSec).toBe(1700000002);
    expect(got[2]?.tsNsec).toBe(123000);
    expect(Buffer.from(got[0]?.data ?? []).equals(Buffer.from(SEED000_FRAME))).toBe(true);
  });

  it('reads the same file tshark reads, and rejects garbage with a clear error', () => {
    const path = join(dir, 'in.pcap');
    writeFileSync(
      path,
      writePcap(
        LINKTYPE.ETHERNET,
        frames.map((data, i) => ({ data, tsSec: 1700000000 + i, tsNsec: 0 })),
      ),
    );
    const tshark = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(tshark.trim().split('\n').map(Number)).toEqual(frames.map((f) => f.length));
    expect(() => readCaptureFile(Buffer.from('hello world, not a pcap'))).toThrow(/not a pcap or pcapng file/);
    const cut = readCaptureFile(writePcap(1, [{ data: SEED000_FRAME, tsSec: 1, tsNsec: 0 }]).subarray(0, 60));
    expect(cut.records).toHaveLength(0);
    expect(cut.warning).toMatch(/mid-record/);
  });

  it('names the file in the one-line error a bad upload or CLI argument gets', () => {
    class Reported extends Error {}
    const toError = (m: string): Error => new Reported(m);
    expect(() => readNamedCaptureFile(Buffer.from('hello world, not a pcap'), 'x.pcap', toError)).toThrow(
      new Reported('x.pcap: not a pcap or pcapng file (magic 0x6c6c6568)'),
    );
    expect(() => readNamedCaptureFile(Buffer.from('ab'), 'y', toError)).toThrow(Reported);
    const ok = writePcap(1, [{ data: SEED000_FRAME, tsSec: 1, tsNsec: 0 }]);
    expect(readNamedCaptureFile(ok, 'z', toError)).toEqual(readCaptureFile(ok));
  });
});

describe('pcapng writer, checked by tshark', () => {
  it('one IDB per (netns, ifname), if_name <ifname>@<netns>, opt_comment annotations', () => {
    const buf = writePcapng((w) => {
      const a = w.iface('node1', 'eth0', LINKTYPE.ETHERNET);
      const b = w.iface('pod-a', 'eth0', LINKTYPE.ETHERNET);
      expect(w.iface('node1', 'eth0', LINKTYPE.ETHERNET)).toBe(a);
      frames.forEach((data, i) => {
        const d = decodeFrame(data, { index: i, linktype: 1, tsSec: 1700000000, tsNsec: i * 1000, len: data.length });
        const notes = i === 1 ? [{ source: 'note' as const, text: 'who asks for 10.0.0.2?' }] : [];
        const hops =
          i === 0
            ? [
                {
                  source: 'hop' as const,
                  text: 'node1 eth0 ingress, DNAT 10.96.0.10:80 -> 10.244.2.2:8080, verdict accept',
                },
              ]
            : [];
        w.packet(i % 2 ? b : a, { data, tsSec: 1700000000, tsNsec: i * 1000, len: data.length }, [
          ...decodeAnnotations(d),
          ...notes,
          ...hops,
        ]);
      });
    });
    const path = join(dir, 'out.pcapng');
    writeFileSync(path, buf);
    const out = execFileSync(
      'tshark',
      [
        '-r',
        path,
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-E',
        'aggregator=;',
        '-e',
        'frame.interface_name',
        '-e',
        'frame.comment',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    expect(rows.map((r) => r[0])).toEqual(['eth0@node1', 'eth0@pod-a', 'eth0@node1', 'eth0@pod-a']);
    expect(rows[0]?.[1]).toContain(
      'dsr: service 172.18.0.2:31400 (Cilium IPv4 option 0x9a, port bytes a87a and address bytes 020012ac read little-endian',
    );
    expect(rows[0]?.[1]).toContain('hop: node1 eth0 ingress, DNAT');
    expect(rows[1]?.[1]).toBe('note: who asks for 10.0.0.2?');
    expect(rows[2]?.[1] ?? '').toBe('');
    expect(rows[3]?.[1]).toContain('dsr: service 172.18.0.2:31400 (Cilium Geneve option');

    // Our own reader agrees, timestamps included (ns resolution).
    const back = readCaptureFile(buf);
    expect(back.warning).toBeNull();
    expect(back.interfaces.map((i) => i.name)).toEqual(['eth0@node1', 'eth0@pod-a']);
    expect(back.records[3]?.tsNsec).toBe(3000);
    expect(back.records[1]?.comments).toEqual(['note: who asks for 10.0.0.2?']);

    // tshark's epoch time for the same packet, to the nanosecond.
    const t = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(t.trim().split('\n')[3]).toMatch(/^1700000000\.000003000/);
  });
});
