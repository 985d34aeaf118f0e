// Pure checks (no kernel): which program goes on which hook, address parsing, and reading libbpf's log.
import { describe, expect, it } from 'vitest';
import { checkIp } from './blocklist';
import { PROGRAMS, sectionFor } from './catalog';
import { verdictOf, verifierLogOf } from './kernel';

describe('teaching program catalog', () => {
  it('maps each program and hook to a section and a bpftool-valid name, or refuses in one line', () => {
    expect(sectionFor('drop-all', 'tc-egress')).toEqual({ section: 'tc', name: 'drop_all' });
    expect(sectionFor('blocklist', 'xdp')).toEqual({ section: 'xdp', name: 'blocklist' });
    expect(sectionFor('blocklist', 'tc-ingress')).toEqual({ section: 'tc', name: 'blocklist_tc' });
    expect(() => sectionFor('drop-all', 'xdp')).toThrow(
      /^drop-all cannot attach to xdp: it supports tc-ingress, tc-egress/,
    );
    expect(() => sectionFor('xdp-drop', 'tc-ingress')).toThrow(
      /^xdp-drop cannot attach to tc-ingress: it supports xdp/,
    );
    for (const def of Object.values(PROGRAMS))
      for (const s of [def.tc, def.xdp]) if (s) expect(s.name).toMatch(/^[A-Za-z0-9_.]{1,15}$/);
  });

  it('accepts only dotted IPv4 addresses for the blocklist', () => {
    expect(checkIp('10.244.1.2')).toEqual(['10', '244', '1', '2']);
    for (const bad of ['10.244.1', '10.244.1.256', 'fe80::1', '10.244.1.2; rm -rf /', ''])
      expect(() => checkIp(bad)).toThrow(/is not an IPv4 address/);
  });

  it("extracts the verifier's log from libbpf's output, and nothing from other failures", () => {
    const stderr = [
      "libbpf: prog 'drop_all': BPF program load failed: Permission denied",
      "libbpf: prog 'drop_all': -- BEGIN PROG LOAD LOG --",
      '0: R1=ctx() R10=fp0',
      '0: (61) r1 = *(u32 *)(r1 +76)',
      'R1 offset is outside of the packet',
      'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
      '-- END PROG LOAD LOG --',
      "libbpf: prog 'drop_all': failed to load: -13",
    ].join('\n');
    expect(verifierLogOf(stderr)).toBe(
      [
        '0: R1=ctx() R10=fp0',
        '0: (61) r1 = *(u32 *)(r1 +76)',
        'R1 offset is outside of the packet',
        'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
      ].join('\n'),
    );
    expect(verdictOf(verifierLogOf(stderr)?.split('\n') ?? [])).toBe('R1 offset is outside of the packet');
    expect(
      verdictOf([
        '1: (71) r0 = *(u8 *)(r1 +0)',
        'invalid access to packet, off=0 size=1, R1(id=0,off=0,r=0)',
        'R1 offset is outside of the packet',
        'processed 2 insns (limit 1000000)',
      ]),
    ).toBe('invalid access to packet, off=0 size=1, R1(id=0,off=0,r=0): R1 offset is outside of the packet');
    expect(verifierLogOf('Error: Underlying driver does not support XDP in native mode.')).toBeUndefined();
  });
});
