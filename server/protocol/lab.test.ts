import { describe, expect, it } from 'vitest';
import { IfName, NetnsName, issueLine } from './common';
import { LabProgAction, LabStatus } from './lab';

describe('protocol: common validators', () => {
  it.each(['eth0', 'veth-pod-a', 'cni0', 'eth0.100', 'vxlan.calico'])('accepts interface %s', (n) => {
    expect(IfName.safeParse(n).success).toBe(true);
  });
  it.each(['', 'a'.repeat(16), 'eth0; rm -rf /', '../etc', 'eth 0', '$(id)'])('rejects interface %j', (n) => {
    expect(IfName.safeParse(n).success).toBe(false);
  });
  it.each(['..', '.', 'a/b', 'x'.repeat(65), 'ns name'])('rejects namespace %j', (n) => {
    expect(NetnsName.safeParse(n).success).toBe(false);
  });
  it('turns a zod error into one line naming the field', () => {
    const r = IfName.safeParse('bad name');
    expect(r.success).toBe(false);
    if (!r.success) expect(issueLine(r.error)).toBe('not a valid interface name');
  });
});

describe('protocol: LabStatus', () => {
  const valid = {
    up: true,
    partial: false,
    scenario: 'basic',
    namespaces: [{ name: 'pod-a', role: 'pod', node: 'node1', addr: '10.244.1.2/24', present: true }],
    services: [{ name: 'echo', clusterIP: '10.96.0.10', port: 80, nodePort: 31400, backends: ['10.244.2.2:8080'] }],
    echoServers: [{ pod: 'pod-c', pid: 42, alive: true }],
    settings: {},
    programs: [
      {
        program: 'drop-all',
        id: 7,
        name: 'drop_all',
        tag: '0123456789abcdef',
        netns: 'pod-a',
        iface: 'eth0',
        hook: 'tc-ingress',
        mode: 'direct-action',
      },
    ],
    blocklist: [],
    catalog: [{ name: 'basic', title: 'kube-proxy', description: 'd', tryCommands: [], settings: [] }],
  };
  it('accepts a well-formed status', () => {
    expect(LabStatus.parse(valid)).toEqual(valid);
  });
  it('rejects an unknown program, hook or an interface name with shell characters in a prog request', () => {
    const ok = { action: 'attach', program: 'drop-all', netns: 'pod-a', iface: 'eth0', hook: 'tc-ingress' };
    expect(LabProgAction.safeParse(ok).success).toBe(true);
    expect(LabProgAction.safeParse({ ...ok, program: 'rm-rf' }).success).toBe(false);
    expect(LabProgAction.safeParse({ ...ok, hook: 'kprobe' }).success).toBe(false);
    expect(LabProgAction.safeParse({ ...ok, iface: 'eth0; reboot' }).success).toBe(false);
    expect(LabProgAction.safeParse({ ...ok, netns: '../x' }).success).toBe(false);
  });
  it('rejects an unknown role or scenario', () => {
    expect(LabStatus.safeParse({ ...valid, scenario: 'kind' }).success).toBe(false);
    expect(LabStatus.safeParse({ ...valid, namespaces: [{ ...valid.namespaces[0], role: 'vm' }] }).success).toBe(false);
  });
});
