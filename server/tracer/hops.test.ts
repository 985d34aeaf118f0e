// The peer-redirect inference on hand-made events (no kernel): where it adds a hop and where it must not.
// Events are made in kernel order (each gets the next timestamp): buildJourney sorts by time.
import { describe, expect, it } from 'vitest';
import { buildJourney, type JourneyMeta } from './journey';
import type { HopEvent } from './hop-event';

const NS = { node: 10, pod: 20 } as const;
const names: Record<number, string> = { 10: 'node2', 20: 'pod-c' };
const nameOf = (i: number): string => names[i] ?? `netns:${i}`;

let ts = 0;
function ev(over: Partial<HopEvent> & Pick<HopEvent, 'hook' | 'dir' | 'netns'>): HopEvent {
  ts += 1000;
  return {
    tsNs: ts,
    skb: 'ffff1',
    ifindex: 2,
    mask: 1,
    ifname: 'eth0',
    srcMac: '',
    dstMac: '',
    hasIp: true,
    src: '10.244.1.2',
    dst: '10.244.2.2',
    proto: 1,
    ttl: 63,
    ipId: 7,
    totLen: 84,
    ipOptions: false,
    icmp: { type: 8, code: 0, id: 1, seq: 1 },
    ...over,
  };
}

const meta: JourneyMeta = {
  id: 't',
  from: 'pod-a',
  to: 'pod-c',
  flow: { proto: 'icmp' },
  pending: false,
  timedOut: false,
  durationMs: 1,
};
const path = (events: HopEvent[]): string[] =>
  buildJourney(events, meta, nameOf).hops.map((h) => `${h.netns}/${h.ifname}/${h.dir}${h.inferred ? '*' : ''}`);

describe('peer-redirect inference', () => {
  const ingress = ev({ hook: 'netif_rx', dir: 'ingress', netns: NS.node });
  const pre = ev({ hook: 'nf_nat', dir: 'none', netns: NS.pod, nfHook: 'PRE_ROUTING' });
  const consumed = ev({ hook: 'consume_skb', dir: 'none', netns: NS.pod });

  it('an ingress, then a netfilter hook in another namespace: the arrival there is inferred', () => {
    expect(path([ingress, pre, consumed])).toEqual(['node2/eth0/ingress', 'pod-c/eth0/ingress*', 'pod-c/eth0/end']);
    const j = buildJourney([ingress, pre, consumed], meta, nameOf);
    expect(j.hops[1]?.inferred).toEqual({ via: 'peer-redirect', from: 'node2/eth0' });
    expect(j.hops[1]?.netfilter?.map((n) => n.hook)).toEqual(['PRE_ROUTING']);
    expect(j.lanes).toEqual(['node2', 'pod-c']);
  });

  it('without netfilter links, the free in the pod names the arrival', () => {
    expect(path([ingress, consumed])).toEqual(['node2/eth0/ingress', 'pod-c/eth0/ingress*', 'pod-c/eth0/end']);
  });

  it('a free with no namespace (TCP) after the inferred arrival stays in the pod', () => {
    const freed = ev({ hook: 'consume_skb', dir: 'none', netns: 0, ifindex: 0, ifname: '' });
    expect(path([ingress, pre, freed])).toEqual(['node2/eth0/ingress', 'pod-c/eth0/ingress*', 'pod-c/eth0/end']);
  });

  it('nothing is inferred on an ordinary path (egress, then an ingress in the next namespace)', () => {
    const events = [
      ev({ hook: 'netif_rx', dir: 'ingress', netns: NS.node }),
      ev({ hook: 'net_dev_queue', dir: 'egress', netns: NS.node, ifname: 'veth-pod-c' }),
      ev({ hook: 'netif_rx', dir: 'ingress', netns: NS.pod }),
      ev({ hook: 'nf_nat', dir: 'none', netns: NS.pod, nfHook: 'PRE_ROUTING' }),
      ev({ hook: 'consume_skb', dir: 'none', netns: NS.pod }),
    ];
    expect(path(events)).toEqual([
      'node2/eth0/ingress',
      'node2/veth-pod-c/egress',
      'pod-c/eth0/ingress',
      'pod-c/eth0/end',
    ]);
  });
});
