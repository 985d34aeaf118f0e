// The explainer's wording on journeys recorded on the pjt-why topology (fixture.ts), with fake facts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Journey, type Hop } from '../../protocol/tracer';
import { formatJourney } from '../format';
import { explainJourney, routeQueryFor } from './explain';
import { parseChain } from './read';
import { ruleMayMatch } from './drop';
import {
  routeKey,
  rpFilterKey,
  type DevProg,
  type Facts,
  type NsFacts,
  type RouteFact,
  type RouteQuery,
} from './facts';
import { explain } from './index';

const rec = (name: string): Journey =>
  Journey.parse(JSON.parse(readFileSync(new URL(`./recorded/${name}.json`, import.meta.url), 'utf8')));

const routes = (pairs: [RouteQuery, RouteFact][]): Map<string, RouteFact> =>
  new Map(pairs.map(([q, r]) => [routeKey(q), r]));

const C = 'pjt-why-c';
const R = 'pjt-why-r';
const S = 'pjt-why-s';
const rLinks: NsFacts['links'] = [
  { ifname: 'pjt-why-rc', kind: 'veth' },
  { ifname: 'pjt-why-br', kind: 'bridge' },
  { ifname: 'pjt-why-rs', kind: 'veth', master: 'pjt-why-br' },
];
const prog = (hook: DevProg['hook'], name: string): DevProg => ({
  ifname: 'pjt-why-rc',
  id: 42,
  name,
  tag: 'ab',
  hook,
});

/** What the kernel would say on the healthy topology, as the reader would hand it over. */
function healthy(): Map<string, NsFacts> {
  return new Map<string, NsFacts>([
    [
      C,
      {
        links: [{ ifname: 'pjt-why-c0', kind: 'veth' }],
        routes: routes([
          [
            { dst: '10.78.2.2', src: '10.78.1.2' },
            { dst: 'default', gateway: '10.78.1.1', dev: 'pjt-why-c0' },
          ],
        ]),
      },
    ],
    [
      R,
      {
        links: rLinks,
        fdb: [{ mac: 'a6:bb:54:da:1f:1e', ifname: 'pjt-why-rs', master: 'pjt-why-br' }],
        routes: routes([
          [
            { dst: '10.78.2.2', src: '10.78.1.2', iif: 'pjt-why-rc' },
            { dst: '10.78.2.0/24', dev: 'pjt-why-br' },
          ],
          [
            { dst: '10.78.1.2', src: '10.78.2.2', iif: 'pjt-why-br' },
            { dst: '10.78.1.0/24', dev: 'pjt-why-rc' },
          ],
        ]),
      },
    ],
    [
      S,
      {
        links: [{ ifname: 'pjt-why-s0', kind: 'veth' }],
        routes: routes([
          [
            { dst: '10.78.1.2', src: '10.78.2.2' },
            { dst: 'default', gateway: '10.78.2.1', dev: 'pjt-why-s0' },
          ],
        ]),
      },
    ],
  ]);
}

const withR = (extra: NsFacts): Facts => {
  const f = healthy();
  f.set(R, { ...f.get(R), ...extra });
  return f;
};

describe('explainer wording (recorded journeys, fake facts)', () => {
  it('a delivered journey: every hop has its reason (routed, bridged, received, delivered), no diagnosis', () => {
    const j = explainJourney(rec('ok'), healthy());
    const reasons = [...j.hops, ...(j.reply?.hops ?? [])].map((h) => h.reason);
    expect(reasons.every((r) => typeof r === 'string' && r.length > 0)).toBe(true);
    expect(reasons.slice(0, 6)).toEqual([
      'routed by pjt-why-c: default via 10.78.1.1 dev pjt-why-c0, table main',
      'received from pjt-why-c pjt-why-c0',
      'routed by pjt-why-r: 10.78.2.0/24 dev pjt-why-br, table main',
      'bridged by pjt-why-br: FDB entry a6:bb:54:da:1f:1e on port pjt-why-rs',
      'received from pjt-why-r pjt-why-rs',
      'delivered to a socket in pjt-why-s (CONSUMED)',
    ]);
    expect(reasons[8]).toBe('up the stack of bridge pjt-why-br from port pjt-why-rs');
    expect(reasons[9]).toBe('routed by pjt-why-r: 10.78.1.0/24 dev pjt-why-rc, table main');
    expect(j.diagnosis).toBeUndefined();
    expect(formatJourney(j)).toContain('↳ bridged by pjt-why-br: FDB entry a6:bb:54:da:1f:1e on port pjt-why-rs');
  });

  it('a bridged hop without an FDB entry says it was flooded; a route not read says so', () => {
    const f = healthy();
    f.set(R, { links: rLinks });
    const j = explainJourney(rec('ok'), f);
    expect(j.hops[3]?.reason).toBe('bridged by pjt-why-br: no FDB entry for a6:bb:54:da:1f:1e, flooded to pjt-why-rs');
    expect(j.hops[2]?.reason).toBe('routed by pjt-why-r (route not read)');
  });

  it('rp_filter: the sysctl, the reverse route and the fix', () => {
    const j = explainJourney(
      rec('rp'),
      withR({
        sysctl: new Map([
          [rpFilterKey('pjt-why-rc'), '1'],
          [rpFilterKey('all'), '0'],
        ]),
        routes: routes([[{ dst: '10.78.1.2' }, { dst: '10.78.1.2', gateway: '10.78.2.2', dev: 'pjt-why-br' }]]),
      }),
    );
    expect(j.diagnosis).toBe(
      "Stopped in pjt-why-r at pjt-why-rc (IP_RPFILTER): rp_filter=1 on pjt-why-r's pjt-why-rc, which drops packets " +
        "whose source isn't routed back through pjt-why-rc (10.78.1.2 is routed via pjt-why-br (via 10.78.2.2)). " +
        'Fix: `sysctl -w net.ipv4.conf.pjt-why-rc.rp_filter=2` in pjt-why-r (loose), or route the source back through pjt-why-rc.',
    );
    expect(j.hops[2]?.reason).toMatch(/^dropped in pjt-why-r \(IP_RPFILTER\): rp_filter=1 on/);
  });

  it('no route: the destination, the namespace and the kernel refusal', () => {
    const j = explainJourney(
      rec('noroute'),
      withR({
        routes: routes([
          [{ dst: '10.78.7.7', src: '10.78.1.2', iif: 'pjt-why-rc' }, { error: 'Network is unreachable' }],
        ]),
      }),
    );
    expect(j.diagnosis).toMatch(
      /^Stopped in pjt-why-r at pjt-why-rc \(IP_INNOROUTES\): no route to 10\.78\.7\.7 in pjt-why-r \(Network is unreachable\)\. Fix: add one/,
    );
  });

  it('an iptables FORWARD rule: its number and text, skipping rules that cannot match it', () => {
    const spec =
      '-P FORWARD ACCEPT\n-A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT\n-A FORWARD -s 10.9.9.9/32 -j DROP\n-A FORWARD -p udp -m udp --dport 9 -j DROP\n';
    const list = [
      'Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)',
      'num      pkts      bytes target     prot opt in     out     source               destination',
      '1           0        0 ACCEPT     6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22',
      '2           7      300 DROP       0    --  *      *       10.9.9.9             0.0.0.0/0',
      '3           2       86 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:9',
    ].join('\n');
    const chain = parseChain('FORWARD', spec, list);
    expect(chain.rules[2]).toEqual({ num: 3, spec: '-p udp -m udp --dport 9 -j DROP', target: 'DROP', pkts: 2 });
    const j = explainJourney(rec('ipt'), withR({ iptables: new Map([['FORWARD', chain]]) }));
    expect(j.diagnosis).toBe(
      'Stopped in pjt-why-r at pjt-why-rc (NETFILTER_DROP): iptables filter FORWARD rule 3 (`-p udp -m udp --dport 9 -j DROP`) ' +
        'in pjt-why-r. Fix: remove or narrow it: `iptables -D FORWARD 3` in pjt-why-r.',
    );
    // With --rules the traced line is the observed fact; the chain read gives its number.
    const traced = rec('ipt');
    const h1 = traced.hops[1] as Hop;
    traced.hops[1] = {
      ...h1,
      rules: ['raw PREROUTING policy ACCEPT', 'filter FORWARD -p udp -m udp --dport 9 -j DROP'],
    };
    expect(explainJourney(traced, withR({ iptables: new Map([['FORWARD', chain]]) })).diagnosis).toContain('rule 3');
  });

  it('a tc drop program: named on the hop with an observed verdict, and in the diagnosis', () => {
    const j = explainJourney(rec('tc'), withR({ progs: [prog('tc-ingress', 'drop_all')] }));
    expect(j.hops[1]?.programs).toEqual([
      { id: 42, name: 'drop_all', tag: 'ab', hook: 'tc-ingress', verdict: 'dropped' },
    ]);
    expect(j.hops[1]?.reason).toContain('tc-ingress drop_all (id 42) dropped it (observed');
    expect(j.diagnosis).toBe(
      'Stopped in pjt-why-r at pjt-why-rc (TC_INGRESS): tc-ingress program drop_all (id 42) on pjt-why-r pjt-why-rc. ' +
        'Fix: detach it: `tc filter del dev pjt-why-rc ingress` in pjt-why-r (or fix the program).',
    );
  });

  it('an XDP drop program (generic XDP frees with NOT_SPECIFIED from do_xdp_generic)', () => {
    const j = explainJourney(rec('xdp'), withR({ progs: [prog('xdp', 'xdp_drop')] }));
    expect(j.hops[1]?.programs?.[0]?.verdict).toBe('dropped');
    expect(j.diagnosis).toMatch(
      /: XDP program xdp_drop \(id 42\) on pjt-why-r pjt-why-rc\. Fix: detach it: `ip link set dev pjt-why-rc xdp off`/,
    );
  });

  it('program verdicts: passed along the stack, redirected when the next sighting skips it', () => {
    const passed = explainJourney(rec('ok'), withR({ progs: [prog('tc-ingress', 'lb')] }));
    expect(passed.hops[1]?.programs?.[0]?.verdict).toBe('passed');
    expect(passed.hops[1]?.reason).toContain('(inferred: it went on along the stack');
    // Without the stack's path: straight from rc ingress to rs egress, no netfilter in between.
    const j = rec('ok');
    const strip = (h: Hop): Hop => ({ ...h, netfilter: undefined });
    j.hops = [j.hops[0] as Hop, strip(j.hops[1] as Hop), strip(j.hops[3] as Hop), ...j.hops.slice(4)];
    const f = withR({ progs: [prog('tc-ingress', 'lb')], links: rLinks.map((l) => ({ ...l, master: undefined })) });
    const r = explainJourney(j, f);
    expect(r.hops[1]?.programs?.[0]).toMatchObject({
      verdict: 'redirected',
      redirect: { netns: R, ifname: 'pjt-why-rs', how: 'egress' },
    });
    expect(r.hops[2]?.reason).toBe(
      "redirected here by tc-ingress lb (id 42) on pjt-why-rc, not by the stack (the stack's route: " +
        '10.78.2.0/24 dev pjt-why-br, table main, yet it left by pjt-why-rs)',
    );
  });

  it('a packet that never left: the source neighbour is INCOMPLETE', () => {
    const j = { ...rec('tc'), hops: [], lanes: [] };
    const f: Facts = new Map([
      [
        C,
        {
          routes: routes([[{ dst: '10.78.2.2' }, { dst: 'default', gateway: '10.78.1.1', dev: 'pjt-why-c0' }]]),
          neigh: [{ dst: '10.78.1.1', dev: 'pjt-why-c0', state: ['INCOMPLETE'] }],
        },
      ],
    ]);
    expect(explainJourney(j, f, '10.78.2.2').diagnosis).toBe(
      "The packet never left pjt-why-c: the neighbour 10.78.1.1 on pjt-why-c's pjt-why-c0 is INCOMPLETE (no ARP reply). " +
        "Fix: check that 10.78.1.1 is up on pjt-why-c0's link and answers ARP (a program or filter that drops ARP there stops it too).",
    );
  });

  it('no drop seen: an interrupted trace, or the last sighting', () => {
    const cut = { ...rec('tc'), interrupted: 'probe loader crashed: killed by SIGKILL' };
    cut.hops = cut.hops.slice(0, 2);
    expect(explainJourney(cut, healthy()).diagnosis).toBe(
      'The trace was interrupted (probe loader crashed: killed by SIGKILL): hops were lost, so where the packet stopped is not known. Follow again.',
    );
    const lost = { ...cut, interrupted: undefined };
    expect(explainJourney(lost, withR({ progs: [prog('tc-ingress', 'lb')] })).diagnosis).toBe(
      'Last seen in pjt-why-r at pjt-why-rc (ingress), nothing after it (the request arrived but no reply came back); ' +
        'tc-ingress program lb (id 42) on pjt-why-r pjt-why-rc is there.',
    );
  });

  it('a neighbour drop names the neighbour; NAT without --rules says how to get the rule', () => {
    const j = rec('noroute');
    const end = j.hops[2] as Hop;
    j.hops[2] = { ...end, drop: { ...(end.drop as NonNullable<Hop['drop']>), reason: 'NEIGH_FAILED' } };
    const f = withR({
      routes: routes([[{ dst: '10.78.7.7' }, { dst: '10.78.7.0/24', gateway: '10.78.2.9', dev: 'pjt-why-br' }]]),
      neigh: [{ dst: '10.78.2.9', dev: 'pjt-why-br', state: ['FAILED'] }],
    });
    expect(explainJourney(j, f).diagnosis).toContain("the neighbour 10.78.2.9 on pjt-why-r's pjt-why-br is FAILED");
    const nat = rec('ok');
    nat.hops[2] = { ...(nat.hops[2] as Hop), nat: { kind: 'dnat', from: '10.96.0.10:80', to: '10.78.2.2:80' } };
    expect(explainJourney(nat, healthy()).hops[2]?.reason).toBe(
      'routed by pjt-why-r: 10.78.2.0/24 dev pjt-why-br, table main; NATed: DNAT 10.96.0.10:80 → 10.78.2.2:80 (rule not traced: follow with --rules)',
    );
  });

  it('rule matching and route queries', () => {
    const h = rec('ipt').hops[1] as Hop;
    expect(ruleMayMatch('-s 10.9.9.9/32 -j DROP', h, 'pjt-why-rc')).toBe(false);
    expect(ruleMayMatch('-s 10.78.0.0/16 -p udp -j DROP', h, 'pjt-why-rc')).toBe(true);
    expect(ruleMayMatch('-i eth+ -j DROP', h, 'pjt-why-rc')).toBe(false);
    expect(ruleMayMatch('-m conntrack --ctstate INVALID -j DROP', h, 'pjt-why-rc')).toBe(true);
    const ok = rec('ok');
    expect(routeQueryFor(ok.hops, 2, { links: rLinks })).toEqual({
      dst: '10.78.2.2',
      src: '10.78.1.2',
      iif: 'pjt-why-rc',
    });
    expect(routeQueryFor(ok.hops, 3, { links: rLinks })).toBeUndefined(); // bridged
  });

  it('never throws: a failing reader leaves the journey as it was', async () => {
    const j = rec('tc');
    const out = await explain(j, { targetOf: () => Promise.reject(new Error('boom')), budgetMs: 50 });
    expect(out).toEqual(j);
  });
});
