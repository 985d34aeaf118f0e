// inNetns against a namespace this test makes: iproute2 enters a named namespace itself (one exec), the
// other tools go through nsenter; both see the namespace's own links. Needs root.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, inNetns } from './exec';

const NS = 'pjt-i14cli-exec';
const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

describe('inNetns (real namespace)', () => {
  beforeAll(() => {
    ip('netns', 'del', NS);
    const add = ip('netns', 'add', NS);
    expect(add.status, add.stderr).toBe(0);
    expect(ip('-n', NS, 'link', 'add', 'pjt-x0', 'type', 'veth', 'peer', 'name', 'pjt-x1').status).toBe(0);
  });
  afterAll(() => {
    ip('netns', 'del', NS);
  });

  it('ip and bridge enter a named namespace with -n; other tools with nsenter', async () => {
    const t = { kind: 'named', name: NS } as const;
    expect(inNetns(t, 'ip', ['-j', 'link', 'show'])).toEqual(['ip', '-n', NS, '-j', 'link', 'show']);
    expect(inNetns(t, 'bridge', ['-j', 'fdb'])).toEqual(['bridge', '-n', NS, '-j', 'fdb']);
    expect(inNetns(t, 'tc', ['qdisc'])[0]).toBe('nsenter');
    // Loading an object keeps nsenter: `ip -n` would pin its maps in a private bpffs (progs.test.ts's
    // blocklist fails that way).
    expect(inNetns(t, 'ip', ['link', 'set', 'dev', 'eth0', 'xdpdrv', 'obj', 'x.o', 'sec', 'xdp'])[0]).toBe('nsenter');
    const viaIp = await exec(inNetns(t, 'ip', ['-j', 'link', 'show']));
    const viaNsenter = await exec(inNetns(t, 'cat', ['/proc/net/dev']));
    expect(viaIp.code).toBe(0);
    expect((JSON.parse(viaIp.stdout) as { ifname: string }[]).map((l) => l.ifname).sort()).toEqual([
      'lo',
      'pjt-x0',
      'pjt-x1',
    ]);
    expect(viaNsenter.stdout).toContain('pjt-x0:');
    // The host's own links are not there.
    expect(viaIp.stdout).not.toContain('"kind0"');
  });
});
