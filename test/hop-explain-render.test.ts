// What the hop diagram prints for issue 12's explanations (reason lines, program badges, inferred hops,
// the diagnosis banner, the socket rewrite step), rendered to HTML on recorded journeys: the follow in
// the e2e spec cannot choose whether hops carry reasons, this can.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createElement, type ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Journey, type Hop } from '../server/protocol/tracer';
import { JourneyView } from '../app/components/hop-diagram/journey-view';
import { HopDetail } from '../app/components/hop-diagram/hop-detail';
import { layoutJourney } from '../app/components/hop-diagram/layout';
import { programLine, socketRewriteLine } from '../app/components/hop-diagram/format';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { I18nProvider } from '../app/i18n/provider';

const dir = join(__dirname, '../app/components/hop-diagram/fixtures');
const load = (name: string): Journey => Journey.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
// The page's provider, in English: the components take their words from it.
const inPage = (e: ReactElement): string =>
  renderToStaticMarkup(createElement(I18nProvider, { initialLocale: 'en', children: e }));
const html = (j: Journey): string => inPage(createElement(JourneyView, { journey: j, autoPlay: false }));
const count = (s: string, needle: string): number => s.split(needle).length - 1;

/** The recorded ping with a reason on every hop and tc programs on node1's hops. */
function explained(): Journey {
  const j = load('ping-pod-a-pod-c.json');
  const hops: Hop[] = j.hops.map((h) => ({ ...h, reason: `seen on ${h.ifname} by ${h.hook}` }));
  const i = hops.findIndex((h) => h.netns === 'node1');
  const h = hops[i] as Hop;
  hops[i] = {
    ...h,
    programs: [
      {
        id: 41,
        name: 'from_container',
        tag: 'abcd',
        hook: 'tc-ingress',
        verdict: 'redirected',
        redirect: { netns: 'pod-c', ifname: 'eth0', how: 'peer' },
      },
      { id: 42, name: 'xdp_drop', tag: 'ef01', hook: 'xdp', verdict: 'dropped' },
    ],
  };
  return Journey.parse({ ...j, hops });
}

describe('hop explanations in the diagram', () => {
  it('program badges say hook, name and verdict', () => {
    const [redirect, dropped] = explained().hops.find((h) => h.programs)?.programs ?? [];
    expect(redirect && programLine(redirect)).toBe('tc from_container → redirected peer to pod-c/eth0');
    expect(dropped && programLine(dropped)).toBe('xdp xdp_drop ✗ dropped');
  });

  it('every hop with a reason shows it in its box, first line; badges follow', () => {
    const j = explained();
    const out = html(j);
    expect(count(out, `data-testid="${hopIds.hopReason}"`)).toBe(j.hops.length);
    expect(out).toContain('seen on eth0 by net_dev_queue');
    expect(count(out, `data-testid="${hopIds.hopProgram}"`)).toBe(2);
    const box = layoutJourney(j).hops.find((b) => b.hop.programs);
    expect(box?.lines.map((l) => l.role).slice(0, 3)).toEqual(['reason', 'prog', 'prog-drop']);
    // a journey without reasons draws none
    expect(html(load('ping-pod-a-pod-c.json'))).not.toContain(hopIds.hopReason);
  });

  it('the hop detail shows the reason and the programs with their verdicts', () => {
    const hop = explained().hops.find((h) => h.programs) as Hop;
    const out = inPage(
      createElement(HopDetail, { hopKey: 'request:1', path: 'request', hop, onClose: () => undefined }),
    );
    expect(out).toContain(`data-testid="${hopIds.detailReason}"`);
    expect(out).toContain(hop.reason);
    expect(out).toContain('data-verdict="redirected"');
    expect(out).toContain('data-verdict="dropped"');
  });

  it('a peer-redirect arrival (recorded on ebpf-routing) is drawn dashed and says it is inferred', () => {
    const j = load('ebpf-routing-peer.json');
    const box = layoutJourney(j).hops.find((b) => b.inferred);
    expect(box?.hop).toMatchObject({ netns: 'pod-c', ifname: 'eth0', inferred: { from: 'node2/eth0' } });
    const out = html(j);
    expect(count(out, 'data-inferred="true"')).toBe(2); // pod-c on the way there, pod-a on the way back
    expect(box?.lines.filter((l) => l.role === 'inferred').map((l) => l.text)).toEqual([
      'inferred: peer redirect',
      'from node2/eth0',
    ]);
    expect(out).toContain('from node2/eth0');
    const detail = inPage(
      createElement(HopDetail, {
        hopKey: 'request:6',
        path: 'request',
        hop: box?.hop as Hop,
        onClose: () => undefined,
      }),
    );
    expect(detail).toContain(`data-testid="${hopIds.detailInferred}"`);
  });

  it('a failed journey shows its diagnosis above the diagram; a delivered one shows none', () => {
    const text = 'Dropped in node2 by netfilter FORWARD: iptables -D FORWARD … removes the rule.';
    const failed = Journey.parse({ ...load('netfilter-drop.json'), diagnosis: text });
    const out = html(failed);
    expect(out).toContain(`data-testid="${hopIds.diagnosis}"`);
    expect(out.indexOf(hopIds.diagnosis)).toBeLessThan(out.indexOf(`data-testid="${hopIds.diagram}"`));
    expect(out).toContain('iptables -D FORWARD');
    expect(html(load('ping-pod-a-pod-c.json'))).not.toContain(hopIds.diagnosis);
  });

  it('a socket rewrite is the first step, before the first hop', () => {
    const socketRewrite = {
      call: 'connect',
      from: '10.96.0.10:80',
      to: '10.244.2.2:8080',
      program: 'cgroup/connect4 sock_lb_connect (id 812)',
    } as const;
    const j = Journey.parse({ ...load('tcp-clusterip.json'), socketRewrite });
    expect(socketRewriteLine(socketRewrite)).toBe(
      'connect(10.96.0.10:80) became 10.244.2.2:8080 — cgroup/connect4 sock_lb_connect (id 812)',
    );
    const out = html(j);
    expect(out.indexOf(hopIds.socketRewrite)).toBeGreaterThan(-1);
    expect(out.indexOf(hopIds.socketRewrite)).toBeLessThan(out.indexOf('data-path="request"'));
  });
});
