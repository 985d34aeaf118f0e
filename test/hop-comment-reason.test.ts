// A capture's pcapng comments carry each hop's reason (issue 13, exports): the `hop:` text built for a
// frame the tracer followed says why it went there, on the journey recorded from the lab.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hopText } from '../server/capture/hop-annotate';
import { Journey } from '../server/protocol/tracer';

const j = Journey.parse(
  JSON.parse(
    readFileSync(join(__dirname, '../app/components/projector/fixtures/tcp-clusterip-explained.json'), 'utf8'),
  ),
);

describe('hop comments', () => {
  it('say why the hop went there, right after the flow, for request and reply', () => {
    const arrival = j.hops.find((h) => h.netns === 'node1' && h.ifname === 'veth-pod-a');
    const back = j.reply?.hops.find((h) => h.netns === 'node1' && h.ifname === 'veth-pod-a');
    if (!arrival?.reason || !back?.reason) throw new Error('fixture without reasons');
    expect(hopText(j, 'request', arrival)).toMatch(
      /^node1 veth-pod-a ingress; 10\.244\.1\.2:\d+ → 10\.96\.0\.10:80; why: received from pod-a eth0; journey /,
    );
    expect(hopText(j, 'reply', back)).toContain(`; why: ${back.reason}; journey ${j.id}`);
    // the NAT hop keeps its NAT text as well
    const nat = j.hops.find((h) => h.nat);
    if (!nat?.reason) throw new Error('fixture without a NAT reason');
    expect(hopText(j, 'request', nat)).toContain(`why: ${nat.reason}; DNAT 10.96.0.10:80`);
  });

  it('a hop without a reason has no empty why', () => {
    const h = j.hops[1];
    if (!h) throw new Error('fixture too short');
    const { reason: _r, ...bare } = h;
    void _r;
    expect(hopText(j, 'request', bare)).not.toContain('why:');
  });
});
