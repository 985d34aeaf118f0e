// The catalogs: French has every English key with the same ICU arguments, every pattern parses, and a
// Msg renders to text with no argument left over.
import { parse, TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser';
import { createTranslator } from 'use-intl/core';
import { describe, expect, it } from 'vitest';
import en from './en.json' with { type: 'json' };
import fr from './fr.json' with { type: 'json' };
import { msg } from './msg';
import { CATALOGS, en as english, patternOf, render, simpleText } from './render';

function flat(x: object, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x)) {
    if (typeof v === 'string') out[`${prefix}${k}`] = v;
    else Object.assign(out, flat(v as object, `${prefix}${k}.`));
  }
  return out;
}

/** The argument names a pattern uses, inside plural/select branches too. */
function args(els: MessageFormatElement[], into = new Set<string>()): Set<string> {
  for (const e of els) {
    if (e.type === TYPE.argument || e.type === TYPE.number || e.type === TYPE.date || e.type === TYPE.time)
      into.add(e.value);
    if (e.type === TYPE.select || e.type === TYPE.plural) {
      into.add(e.value);
      for (const o of Object.values(e.options)) args(o.value, into);
    }
    if (e.type === TYPE.tag) args(e.children, into);
  }
  return into;
}
/** The select/plural branch names, which must match too (French may not invent or drop a case). */
function branches(els: MessageFormatElement[], into: string[] = []): string[] {
  for (const e of els)
    if (e.type === TYPE.select || e.type === TYPE.plural) {
      into.push(`${e.value}:${Object.keys(e.options).sort().join('|')}`);
      for (const o of Object.values(e.options)) branches(o.value, into);
    }
  return into.sort();
}

const SAME_IN_BOTH = [
  'err.detail',
  'err.what.messages',
  'explain.route',
  'explain.via',
  'scenario.basic.title',
  'ui.capture.captureControls.instructions',
  'ui.capture.captureControls.interface',
  'ui.capture.dsrExplainer.htonl',
  'ui.capture.dsrExplainer.port',
  'ui.fields.verdict',
  'ui.flows.map.rate',
  'ui.flows.table.drops',
  'ui.hopDiagram.followForm.port',
  'ui.hopDiagram.hopDetail.bpfRedirectPeer',
  'ui.hopDiagram.hopDetail.code',
  'ui.hopDiagram.hopDetail.ethernet',
  'ui.hopDiagram.hopDetail.inode',
  'ui.hopDiagram.hopDetail.netfilter',
  'ui.hopDiagram.hopDetail.type',
  'ui.hopDiagram.liveForm.icmp',
  'ui.lab.labPanel.absent',
  'ui.lab.labPanel.npxPacketJourneyLab',
  'ui.lab.labPanel.service',
  'ui.lab.programsPanel.interface',
  'ui.lab.programsPanel.mode',
  'ui.macMap.bpfBadges.mode',
  'ui.macMap.bpfBadges.pref',
  'ui.macMap.detailPanel.interface',
  'ui.macMap.detailPanel.interfaces',
  'ui.macMap.detailPanel.port',
  'ui.macMap.detailPanel.ports',
  'ui.macMap.detailPanel.routes',
  'ui.macMap.mapToolbar.hits',
  'ui.page.tabs.capture',
  'ui.projector.stepBar.pause',
  'ui.projector.stepBar.socket',
  'ui.projector.stepBar.where',
  'ui.replay.pause',
  'ui.shell.languageName.en',
];

const EN = flat(en);
const FR = flat(fr);

describe('catalogs', () => {
  it('have the same keys in English and French', () => {
    expect(Object.keys(FR).sort()).toEqual(Object.keys(EN).sort());
    expect(Object.keys(EN).length).toBeGreaterThan(300);
  });

  it('every pattern parses, and French uses the same arguments and cases as English', () => {
    const bad: string[] = [];
    for (const [key, pattern] of Object.entries(EN)) {
      const e = parse(pattern);
      const f = parse(FR[key] ?? '');
      if ([...args(e)].sort().join() !== [...args(f)].sort().join()) bad.push(`${key}: arguments differ`);
      if (branches(e).join() !== branches(f).join()) bad.push(`${key}: select/plural cases differ`);
    }
    expect(bad).toEqual([]);
  });

  it('French is French: the same text in both only for the words French shares (an explicit list)', () => {
    const same = Object.keys(EN).filter((k) => EN[k] === FR[k] && /[a-z]{4,}/.test(EN[k] ?? ''));
    // Names, commands and words French spells the same (interface, port, service, mode, verdict, pause…).
    expect(same.sort()).toEqual(SAME_IN_BOTH);
  });

  it('a Msg renders in both languages with its nested messages, and falls back to English', () => {
    const m = msg('err.class.instructorOnly', { what: msg('err.class.only.kick') });
    expect(english(m)).toBe('only the instructor can disconnect a student');
    expect(render(m, 'fr')).toBe('seul le formateur peut déconnecter un étudiant');
    expect(render(msg('format.nope'), 'fr')).toBe(render(msg('format.nope'), 'en'));
    expect(patternOf(CATALOGS.fr, 'err.noAnswer')).toBe('pas de réponse du serveur');
  });

  it("render's shortcut gives exactly use-intl's text, for every key in both languages", () => {
    let simple = 0;
    for (const [locale, catalog] of [
      ['en', EN],
      ['fr', FR],
    ] as const) {
      const t = createTranslator({ locale, messages: CATALOGS[locale], onError: () => {} }) as unknown as (
        k: string,
        v?: Record<string, string | number>,
      ) => string;
      for (const [key, pattern] of Object.entries(catalog)) {
        const names = [...args(parse(pattern))];
        // Strings (with ICU's own syntax in them) and integers, large ones included.
        const strings = Object.fromEntries(names.map((n, i) => [n, `v'{${i}}#<b>`]));
        const ints = Object.fromEntries(names.map((n, i) => [n, 31400 + i * 1_000_000]));
        if (simpleText(pattern, strings) !== undefined) simple++;
        expect(render(msg(key, strings), locale), key).toBe(t(key, strings));
        expect(render(msg(key, ints), locale), key).toBe(t(key, ints));
      }
    }
    // Most of the catalog takes the shortcut (quoted text such as lxc'<'hash> included).
    expect(simple).toBeGreaterThan(800);
    expect(simpleText(patternOf(CATALOGS.en, 'scenario.ebpf-routing.description') ?? '', { lxc: 'lxc1' })).toContain(
      'named lxc<hash> (pod-a',
    );
    // Values it does not take (a fraction, a missing one) go through the formatter: same text as before.
    const etp = { lbIp: '10.0.0.1', port: 1.5, nodePort: 31400, extChain: 'X' };
    expect(english(msg('scenario.etp-local.description', etp))).toContain('10.0.0.1:1.5 (NodePort 31400)');
    // A missing value is the formatter's error, as before: the key.
    expect(english(msg('scenario.etp-local.description', { port: 80 }))).toBe('scenario.etp-local.description');
    // A key French lacks is English, shortcut or not; an unknown key renders as the key.
    expect(render(msg('no.such.key'), 'fr')).toBe(render(msg('no.such.key'), 'en'));
  });

  it('the shortcut declines every pattern the formatter must render, and quotes as ICU does', () => {
    const messages = {
      quote: "it''s {n}",
      quoted: "'{n}' is literal",
      apostrophe: "kube-proxy's {m}",
      typed: '{n, number}',
      plural: '{n, plural, one {# hop} other {# hops}}',
      tag: '<b>{n}</b>',
      hash: '# {n}',
      plain: 'a {n} b {m}',
    };
    const t = createTranslator({ locale: 'en', messages, onError: () => {} }) as unknown as (
      k: string,
      v: Record<string, string | number>,
    ) => string;
    const v = { n: 7, m: 'x' };
    for (const [k, p] of Object.entries(messages)) {
      const s = simpleText(p, v);
      if (k === 'typed' || k === 'plural' || k === 'tag') expect(s, k).toBeUndefined();
      else expect(s, k).toBe(t(k, v));
    }
    expect(simpleText('{n}', { n: 1.5 })).toBeUndefined();
    expect(simpleText('{n}', {})).toBeUndefined();
  });
});
