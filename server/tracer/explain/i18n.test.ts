// Every message the server can say exists in both catalogs, and the English strings it sends (`reason`,
// `diagnosis`, a scenario's text, an ack's `error`) are the English rendering of the Msg sent with them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rateRefusal, STUDENT_ANY_RATE, STUDENT_RULES, studentRefusal, type StudentView } from '../../classroom/policy';
import { handle } from '../../gateway/handle';
import { CATALOG } from '../../lab/scenarios';
import { IfName, type Ack } from '../../protocol/common';
import { msgKeys, type Msg } from '../../protocol/i18n/msg';
import { CATALOGS, en, patternOf, render } from '../../protocol/i18n/render';
import { Journey, type Hop, type HopProgram } from '../../protocol/tracer';
import { UserError } from '../../sys/errors';
import { load, meta, namer, RECORDED } from '../fixtures/load';
import { buildJourney } from '../journey';
import { explainJourney } from './explain';
import type { DevProg, Facts, NsFacts } from './facts';
import { routeKey } from './facts';
import * as w from './words';

/** Keys of `m` (nested too) that a catalog lacks. */
const missing = (m: Msg): string[] =>
  msgKeys(m).flatMap((k) => (['en', 'fr'] as const).filter((l) => !patternOf(CATALOGS[l], k)).map((l) => `${l}:${k}`));

/** Checks a Msg exists in both catalogs and renders fully in both. */
function said(m: Msg | undefined): void {
  expect(m).toBeDefined();
  if (!m) return;
  expect(missing(m)).toEqual([]);
  for (const l of ['en', 'fr'] as const)
    expect(render(m, l)).not.toMatch(/\{|\b(explain|err|scenario|ui|zod)\.[A-Za-z]/);
  expect(render(m, 'fr')).not.toBe(en(m));
}

const rec = (name: string): Journey =>
  Journey.parse(JSON.parse(readFileSync(new URL(`./recorded/${name}.json`, import.meta.url), 'utf8')));

/** Facts that light up the routed, bridged, program and drop branches on the pjt-why journeys. */
function facts(): Facts {
  const prog = { ifname: 'pjt-why-rc', id: 42, name: 'drop_all', tag: 'ab', hook: 'tc-ingress' as const };
  const r: NsFacts = {
    links: [
      { ifname: 'pjt-why-rc', kind: 'veth' },
      { ifname: 'pjt-why-br', kind: 'bridge' },
      { ifname: 'pjt-why-rs', kind: 'veth', master: 'pjt-why-br' },
    ],
    fdb: [{ mac: 'a6:bb:54:da:1f:1e', ifname: 'pjt-why-rs', master: 'pjt-why-br' }],
    routes: new Map([
      [routeKey({ dst: '10.78.2.2', src: '10.78.1.2', iif: 'pjt-why-rc' }), { dst: '10.78.2.0/24', dev: 'pjt-why-br' }],
    ]),
    progs: [prog],
  };
  return new Map([['pjt-why-r', r]]);
}

function journeys(): Journey[] {
  const fromProbe = RECORDED.map(({ file, names, flow }) => buildJourney(load(file), meta(flow), namer(names)));
  const recorded = ['ipt', 'noroute', 'ok', 'rp', 'tc', 'xdp'].map(rec);
  return [...fromProbe, ...recorded].flatMap((j) => [
    explainJourney(j, new Map()),
    explainJourney(j, facts(), '10.78.2.2'),
  ]);
}

describe('the explainer speaks in messages', () => {
  const all = journeys();
  const hops = all.flatMap((j) => [...j.hops, ...(j.reply?.hops ?? [])]);

  it('every hop of every recorded journey: reason is the English of reasonMsg, in both catalogs', () => {
    expect(hops.length).toBeGreaterThan(50);
    for (const h of hops) {
      expect(h.reason).toBe(en(h.reasonMsg as Msg));
      said(h.reasonMsg);
    }
  });

  it('every diagnosis is the English of diagnosisMsg', () => {
    const diagnosed = all.filter((j) => j.diagnosis);
    expect(diagnosed.length).toBeGreaterThan(3);
    for (const j of diagnosed) {
      expect(j.diagnosis).toBe(en(j.diagnosisMsg as Msg));
      said(j.diagnosisMsg);
    }
  });

  it('the French narration is French and keeps the names as they are', () => {
    const h = hops.find((x) => x.reasonMsg?.key === 'explain.receivedFrom') as Hop;
    const fr = render(h.reasonMsg as Msg, 'fr');
    expect(fr).toMatch(/^reçu de \S+ \S+$/);
    expect(fr.split(' ').slice(2)).toEqual((h.reason ?? '').split(' ').slice(2));
  });

  it('every words.ts message, branch by branch (a table)', () => {
    const route = { dst: '10.244.2.0/24', gateway: '172.18.0.3', dev: 'eth0', table: 'main' };
    const p: HopProgram = { hook: 'tc-ingress', name: 'drop_all', id: 7, tag: 'ab', verdict: 'dropped' };
    const rule = {
      num: 3,
      spec: '-A KUBE-X -m comment --comment "default/echo has no local endpoints" -j DROP',
      target: 'DROP',
      pkts: 1,
    };
    const table: Msg[] = [
      w.routedText('node1', w.routeMsg(route)),
      w.routedText('node1', w.routeLeftMsg({ dst: 'default', dev: 'eth1' }, 'eth0')),
      w.routedUnknownText('node1'),
      w.routedUnknownText('node1', 'Network is unreachable'),
      w.bridgedText('cni0', 'ff:ff:ff:ff:ff:ff', undefined, 'veth-pod-a'),
      w.bridgedText('cni0', '02:42:ac:12:00:03', undefined, 'veth-pod-a'),
      w.bridgedText('cni0', '02:42:ac:12:00:03', 'veth-pod-a', 'veth-pod-a'),
      w.bridgedText('cni0', '02:42:ac:12:00:03', 'veth-pod-b', 'veth-pod-a'),
      w.optionsText('added', { netns: 'node1', ifname: 'eth0', dir: 'ingress' }, p, {
        addr: '172.18.0.2',
        port: 31400,
      }),
      w.optionsText('removed', { netns: 'node1', ifname: 'eth0', dir: 'ingress' }, undefined),
      w.receivedFromText('node1', 'veth-pod-a'),
      w.redirectedHereText(p, 'lxc1', undefined),
      w.redirectedHereText(p, 'lxc1', w.routeMsg(route)),
      w.receivedText('eth0'),
      w.upFromPortText('cni0', 'veth-pod-a'),
      w.inferredText('node2/eth0'),
      w.deliveredText('pod-c', 'CONSUMED'),
      w.endedText('pod-c', 'NO_SOCKET'),
      w.endedText('pod-c'),
      w.copyEndText('XDP_HANDOFF'),
      w.copyEndText('CLONE'),
      w.droppedText('node1', 'NETFILTER_DROP', w.netfilterInText('node1')),
      w.droppedText('node1', 'NETFILTER_DROP', undefined),
      w.natedText({ kind: 'dnat', from: '10.96.0.10:80', to: '10.244.2.2:8080' }, 'nat KUBE-SEP-X DNAT'),
      w.natedText({ kind: 'dnat', from: '10.96.0.10:80', to: '10.244.2.2:8080' }, undefined),
      w.joined([w.receivedText('eth0'), w.receivedText('eth1')]),
      w.iptRuleText('KUBE-EXTERNAL-SERVICES', rule, 'node1'),
      w.iptRuleText('KUBE-FORWARD', { ...rule, spec: '-j DROP' }, 'node1'),
      w.iptRuleText('FORWARD', rule, 'node1'),
      w.iptTracedText('filter FORWARD -j DROP', 'node1'),
      w.iptPolicyText('FORWARD', 'DROP', 'node1'),
      w.iptFix('KUBE-EXTERNAL-SERVICES', rule, 'node1'),
      w.iptFix('FORWARD', rule, 'node1'),
      w.iptFix('FORWARD', undefined, 'node1'),
      w.progText(p as DevProg, 'node1', 'eth0'),
      w.progText({ ...p, hook: 'xdp' }, 'node1', 'eth0'),
      w.progUnknownText('xdp', 'node1', 'eth0'),
      w.progFix('xdp', 'eth0', 'node1'),
      w.progFix('tcx-ingress', 'eth0', 'node1'),
      w.progFix('tc-egress', 'eth0', 'node1'),
      w.rpFilterText('node2', 'eth0', '1', '10.244.1.2', 'eth1'),
      w.rpFilterText('node2', 'eth0', '1', '10.244.1.2', undefined),
      w.rpFilterFix('eth0', 'node2'),
      w.noRouteText('10.9.9.9', 'pod-a', 'Network is unreachable'),
      w.noRouteText('10.9.9.9', 'pod-a', undefined),
      w.noRouteFix('10.9.9.9', 'pod-a'),
      w.neighText('10.244.1.1', 'eth0', 'FAILED', 'pod-a'),
      w.peerProgText(w.progText(p as DevProg, 'node1', 'veth-pod-a'), 'eth0'),
      w.neighFix('10.244.1.1', 'eth0'),
      w.noSocketText('udp', '10.244.2.2', 9, 'pod-c'),
      w.noSocketFix('udp', 9, 'pod-c'),
      w.kernelText('ip_rcv'),
      w.kernelText(''),
      w.verdictNote(p),
      w.verdictNote(p, 'the next hop never came'),
      w.verdictNote({ ...p, verdict: 'redirected', redirect: { netns: 'pod-c', ifname: 'eth0', how: 'peer' } }),
      w.verdictNote({ ...p, verdict: 'passed' }),
      w.dropDiagnosis(
        w.stoppedAt('node1', 'eth0'),
        'NETFILTER_DROP',
        w.netfilterInText('node1'),
        w.iptFix('FORWARD', undefined, 'node1'),
      ),
      w.dropDiagnosis(w.replyStoppedAt('node1', ''), 'NETFILTER_DROP', w.kernelText(''), undefined),
      w.dropDiagnosis(w.stoppedAt('node1', ''), 'X', w.kernelText(''), undefined),
      w.dropDiagnosis(w.replyStoppedAt('node1', 'eth0'), 'X', w.kernelText(''), undefined),
      w.interruptedDiagnosis('probe loader crashed: killed by SIGKILL'),
      w.neverLeftDiagnosis(
        w.neverLeftText('pod-a'),
        w.noRouteText('1.2.3.4', 'pod-a', undefined),
        w.noRouteFix('1.2.3.4', 'pod-a'),
      ),
      w.neverLeftNoHop(w.neverLeftText('pod-a')),
      w.lastSeenDiagnosis(w.lastSeenText('node1', 'eth0', 'egress'), false, w.progText(p as DevProg, 'node1', 'eth0')),
      w.lastSeenDiagnosis(w.lastSeenText('node1', 'eth0', 'egress'), true, undefined),
    ];
    for (const m of table) said(m);
    // The English still reads as before the catalogs (one sample per family).
    expect(en(table[0] as Msg)).toBe('routed by node1: 10.244.2.0/24 via 172.18.0.3 dev eth0, table main');
    expect(en(table[45] as Msg)).toBe('add one: `ip route add 10.9.9.9 via <next hop>` in pod-a (or a default route)');
  });
});

describe('the server speaks its errors in messages', () => {
  const view: StudentView = {
    joined: true,
    ownCaptures: new Set(),
    ownFiles: new Set(),
    shared: new Set(),
    liveCaptures: 1,
    fileOf: () => undefined,
  };

  it("every student refusal and rate limit is keyed (a capture on node1's veth-pod-a included)", () => {
    const asks: [string, unknown][] = [
      ['capture:start', { netns: 'node1', iface: 'veth-pod-a' }],
      ['capture:start', { netns: 'pod-a', iface: 'eth0' }],
      ['tracer:follow', { from: 'node1', to: 'pod-c' }],
      ['tracer:follow', { from: 'pod-a', to: 'pod-c', rules: true }],
      ['capture:stop', { id: 'c1' }],
      ['capture:watch', { id: 'c1' }],
      ['capture:note', { id: 'c1', index: 0, text: 'x' }],
      ['capture:open', { name: 'x.pcapng' }],
      ['no:such-event', {}],
      ...Object.keys(STUDENT_RULES).map((e): [string, unknown] => [e, {}]),
    ];
    const refusals = asks.map(([e, r]) => studentRefusal(e, r, view)).filter((x): x is Msg => x !== undefined);
    expect(refusals.length).toBeGreaterThan(15);
    for (const m of refusals) said(m);
    said(studentRefusal('lab:run', {}, { ...view, joined: false }));
    const veth = studentRefusal('capture:start', { netns: 'node1', iface: 'veth-pod-a' }, view) as Msg;
    expect(render(veth, 'fr')).toBe('les étudiants ne peuvent capturer que sur l’eth0 d’un pod du lab');
    const rates = [STUDENT_ANY_RATE, ...Object.values(STUDENT_RULES).flatMap((r) => (r.rate ? [r.rate] : []))];
    for (const r of rates) said(rateRefusal(r));
  });

  it("an ack's error is the English of its msg: a UserError's key, a zod line, an internal error framed", async () => {
    const ask = (fn: ReturnType<typeof handle>, req: unknown) =>
      new Promise<Ack<unknown>>((res) => fn(req, res as (r: Ack<unknown>) => void));
    const keyed = await ask(
      handle(z.object({}), () => {
        throw new UserError({ key: 'err.lab.busy' });
      }),
      {},
    );
    const zodLine = await ask(
      handle(z.object({ iface: IfName }), () => null),
      { iface: 'a b' },
    );
    const internal = await ask(
      handle(z.object({}), () => {
        throw new Error('boom');
      }),
      {},
    );
    for (const a of [keyed, zodLine, internal]) {
      expect(a.ok).toBe(false);
      if (a.ok) continue;
      said(a.msg);
      expect(a.error).toBe(en(a.msg as Msg));
    }
    expect(!zodLine.ok && zodLine.error).toBe('iface: not a valid interface name');
    expect(!zodLine.ok && render(zodLine.msg as Msg, 'fr')).toBe('iface : ce n’est pas un nom d’interface valide');
    expect(!internal.ok && render(internal.msg as Msg, 'fr')).toBe('erreur interne : boom');
  });

  it("the scenarios' titles, descriptions and settings are keyed, their strings the English", () => {
    for (const s of CATALOG) {
      said(s.descriptionMsg);
      expect(s.description).toBe(en(s.descriptionMsg as Msg));
      expect(s.title).toBe(en(s.titleMsg as Msg));
      expect(missing(s.titleMsg as Msg)).toEqual([]);
      for (const x of s.settings) said(x.helpMsg);
    }
  });
});
