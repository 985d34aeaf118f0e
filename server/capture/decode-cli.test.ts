import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const cli = (...args: string[]) => spawnSync('npx', ['tsx', 'server/cli.ts', 'decode', ...args], { encoding: 'utf8' });

describe('packet-journey decode', () => {
  it('--json prints one object per packet with layers and dsr', () => {
    const r = cli('server/capture/fixtures/dsr-examples.pcap', '--json');
    expect(r.status).toBe(0);
    const pkts = JSON.parse(r.stdout) as {
      dsr: { addr: string; port: number; encoding: string } | null;
      layers: { proto: string }[];
    }[];
    expect(pkts.map((p) => p.dsr && `${p.dsr.encoding} ${p.dsr.addr} ${p.dsr.port}`)).toEqual([
      'ipv4-option 172.18.0.2 31400',
      'ipv6-destopt fd00::10 8443',
      'geneve-option 172.18.0.2 31400',
      null,
      null,
    ]);
    expect(pkts[3]?.layers.map((l) => l.proto)).toContain('vxlan');
  });

  it('text output names the DSR service under the tcpdump-style line', () => {
    const r = cli('server/capture/fixtures/dsr-examples.pcap', '--count', '1');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('172.18.0.1.50074 > 10.244.3.250.8080: Flags [S]');
    expect(r.stdout).toContain(
      'DSR: service 172.18.0.2:31400 (ipv4-option, little-endian; port bytes a87a, address bytes 020012ac)',
    );
  });

  it('bad input: one-line errors, non-zero exit', () => {
    const missing = cli('/nonexistent.pcap');
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n').pop()).toBe(
      'packet-journey decode: cannot read /nonexistent.pcap: no such file',
    );
    const junk = cli('package.json');
    expect(junk.status).toBe(2);
    expect(junk.stderr).toMatch(/not a pcap or pcapng file/);
  });
});
