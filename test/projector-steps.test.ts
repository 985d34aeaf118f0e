// The projector's step-through as pure functions, on journeys recorded from the lab (`follow --json`
// pod-a → pod-c, and TCP to the echo service, both with the server's hop reasons): which steps there
// are and what they say, how keys and the play timer move, which fields and interface each step shows,
// and the colour maths of the exports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journey } from '../server/protocol/tracer';
import { focusTransform } from '../app/components/hop-diagram/hop-diagram';
import { layoutJourney } from '../app/components/hop-diagram/layout';
import { contrast, parseColor, printColor, toHex } from '../app/components/projector/colors';
import { exportName, journeyJson } from '../app/components/projector/export';
import { hopFields, socketFields } from '../app/components/projector/fields';
import {
  fallbackNarration,
  globalKey,
  hasModifier,
  isTyping,
  journeySteps,
  spaceIsControls,
  PLAY_INTERVAL_MS,
  STEP_START,
  stepBox,
  stepIface,
  stepKey,
  stepReducer,
  type StepAction,
  type StepState,
} from '../app/components/projector/steps';

const dir = join(__dirname, '../app/components/projector/fixtures');
const load = (name: string): Journey => Journey.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
const ping = load('ping-pod-a-pod-c-explained.json');
const tcp = load('tcp-clusterip-explained.json');

const run = (actions: StepAction[], count: number, from: StepState = STEP_START): StepState =>
  actions.reduce((s, a) => stepReducer(s, a, count), from);

describe('journeySteps', () => {
  it('has one step per request hop, then one per reply hop, narrated by the server’s reasons', () => {
    const steps = journeySteps(ping);
    const nReq = ping.hops.length;
    const nRep = ping.reply?.hops.length ?? 0;
    expect(nReq).toBeGreaterThan(5);
    expect(nRep).toBeGreaterThan(5);
    expect(steps).toHaveLength(nReq + nRep);
    expect(steps[0]).toMatchObject({ kind: 'hop', key: 'request:0', path: 'request' });
    expect(steps[nReq]).toMatchObject({ kind: 'hop', key: 'reply:0', path: 'reply' });
    expect(steps.map((s) => s.narration)).toEqual([...ping.hops, ...(ping.reply?.hops ?? [])].map((h) => h.reason));
    expect(steps[3]?.narration).toBe('routed by node1: 10.244.2.0/24 via 172.18.0.3 dev eth0, table main');
    expect(steps[8]?.narration).toBe('bridged by cni0: FDB entry 0a:58:0a:f4:02:02 on port veth-pod-c');
    // every hop step is a box of the diagram
    const boxes = new Set(layoutJourney(ping).hops.map((b) => b.key));
    for (const s of steps) expect(boxes.has(stepBox(s) ?? '')).toBe(true);
  });

  it('opens with the socket rewrite and ends with the diagnosis, which points at the drop', () => {
    const hops = ping.hops.slice(0, 4);
    const last = hops[3];
    if (!last) throw new Error('fixture too short');
    const dropped = {
      ...ping,
      delivered: false,
      reply: undefined,
      hops: [
        ...hops,
        {
          ...last,
          seq: 4,
          dir: 'end' as const,
          reason: 'dropped by netfilter in node1 FORWARD',
          drop: { reason: 'NETFILTER_DROP', where: 'nf_hook_slow+0x9c', isRealDrop: true, byNetfilter: true },
        },
      ],
      diagnosis: 'stopped in node1: FORWARD dropped it; check iptables -S FORWARD',
      socketRewrite: { call: 'connect' as const, from: '10.96.0.10:80', to: '10.244.2.2:8080' },
    };
    const steps = journeySteps(dropped);
    expect(steps.map((s) => s.key)).toEqual([
      'socket',
      'request:0',
      'request:1',
      'request:2',
      'request:3',
      'request:4',
      'diagnosis',
    ]);
    expect(steps[0]?.narration).toBe('at the socket, before any packet: connect(10.96.0.10:80) became 10.244.2.2:8080');
    expect(steps.at(-1)).toMatchObject({ kind: 'diagnosis', at: 'request:4', narration: dropped.diagnosis });
    expect(stepBox(steps[0])).toBeUndefined();
    expect(stepIface(steps, steps.at(-1))).toEqual({ netns: 'node1', ifname: last.ifname });
    // a delivered journey shows no diagnosis step even if the text is there
    expect(journeySteps({ ...ping, diagnosis: 'n/a' }).some((s) => s.kind === 'diagnosis')).toBe(false);
  });

  it('narrates a hop with no reason from its fields', () => {
    const h = tcp.hops[2];
    if (!h) throw new Error('fixture too short');
    const { reason: _drop, ...bare } = h;
    void _drop;
    expect(fallbackNarration(bare)).toMatch(
      /^arrives on node1 cni0 \(10\.244\.1\.2:\d+ → 10\.244\.2\.[23]:8080, DNAT 10\.96\.0\.10:80 → 10\.244\.2\.[23]:8080\)$/,
    );
    expect(journeySteps({ ...tcp, hops: [bare] })[0]?.narration).toBe(fallbackNarration(bare));
  });

  it('the MAC map interface of a step is its hop’s', () => {
    const steps = journeySteps(ping);
    expect(stepIface(steps, steps[1])).toEqual({ netns: 'node1', ifname: 'veth-pod-a' });
    expect(stepIface(steps, undefined)).toBeUndefined();
  });
});

describe('stepReducer', () => {
  const n = 5;
  it('arrows step and stop at the ends', () => {
    expect(run([{ type: 'next' }], n)).toEqual({ index: 0, playing: false });
    expect(run([{ type: 'prev' }], n)).toEqual({ index: 0, playing: false });
    expect(run(Array(9).fill({ type: 'next' }), n).index).toBe(4);
    expect(
      run([{ type: 'next' }, { type: 'next' }, { type: 'prev' }, { type: 'prev' }, { type: 'prev' }], n).index,
    ).toBe(0);
    expect(run([{ type: 'last' }], n).index).toBe(4);
    expect(run([{ type: 'last' }, { type: 'first' }], n).index).toBe(0);
    expect(run([{ type: 'goto', index: 3 }], n).index).toBe(3);
    expect(run([{ type: 'goto', index: 99 }], n).index).toBe(4);
    expect(run([{ type: 'next' }, { type: 'exit' }], n)).toEqual(STEP_START);
  });

  it('play runs one step per tick and stops on the last; space again pauses; from the end it restarts', () => {
    let s = run([{ type: 'toggle-play' }], n);
    expect(s).toEqual({ index: 0, playing: true });
    s = run([{ type: 'tick' }, { type: 'tick' }], n, s);
    expect(s).toEqual({ index: 2, playing: true });
    expect(run([{ type: 'toggle-play' }], n, s)).toEqual({ index: 2, playing: false });
    s = run([{ type: 'tick' }, { type: 'tick' }], n, s);
    expect(s).toEqual({ index: 4, playing: false });
    expect(run([{ type: 'tick' }], n, s)).toEqual(s); // a late tick after the end does nothing
    expect(run([{ type: 'toggle-play' }], n, s)).toEqual({ index: 0, playing: true });
    // stepping by hand pauses
    expect(run([{ type: 'toggle-play' }, { type: 'next' }], n)).toEqual({ index: 1, playing: false });
    expect(PLAY_INTERVAL_MS).toBe(1500);
  });

  it('with no steps nothing moves', () => {
    expect(run([{ type: 'next' }, { type: 'toggle-play' }], 0)).toEqual(STEP_START);
  });
});

describe('keys', () => {
  it('maps arrows, space, Home/End and Esc to steps, and p, f, ? page-wide', () => {
    expect(stepKey('ArrowRight')).toEqual({ type: 'next' });
    expect(stepKey('ArrowLeft')).toEqual({ type: 'prev' });
    expect(stepKey(' ')).toEqual({ type: 'toggle-play' });
    expect(stepKey('Escape')).toEqual({ type: 'exit' });
    expect(stepKey('x')).toBeUndefined();
    expect(globalKey('p')).toBe('projector');
    expect(globalKey('f')).toBe('fullscreen');
    expect(globalKey('?')).toBe('help');
    expect(globalKey('q')).toBeUndefined();
  });

  it('ignores keys typed into fields, and modified keys', () => {
    expect(isTyping({ tagName: 'INPUT', type: 'text' })).toBe(true);
    expect(isTyping({ tagName: 'input', type: 'number' })).toBe(true);
    expect(isTyping({ tagName: 'TEXTAREA' })).toBe(true);
    expect(isTyping({ tagName: 'SELECT' })).toBe(true);
    expect(isTyping({ tagName: 'DIV', isContentEditable: true })).toBe(true);
    expect(isTyping({ tagName: 'INPUT', type: 'checkbox' })).toBe(false);
    expect(isTyping({ tagName: 'BUTTON' })).toBe(false);
    expect(isTyping({ tagName: 'BODY' })).toBe(false);
    expect(isTyping(null)).toBe(false);
    // space on a button reached with Tab clicks it; on one just clicked with the mouse it plays
    expect(spaceIsControls({ tagName: 'BUTTON', keyboardFocus: true })).toBe(true);
    expect(spaceIsControls({ tagName: 'BUTTON', keyboardFocus: false })).toBe(false);
    expect(spaceIsControls({ tagName: 'BODY', keyboardFocus: true })).toBe(false);
    expect(hasModifier({ ctrlKey: true, metaKey: false, altKey: false })).toBe(true);
    expect(hasModifier({ ctrlKey: false, metaKey: false, altKey: false })).toBe(false);
  });
});

describe('fields beside the diagram', () => {
  it('shows addresses, ports, TTL change, NAT and the end', () => {
    const nat = tcp.hops.find((h) => h.nat);
    if (!nat) throw new Error('no NAT hop in the fixture');
    const prev = tcp.hops[nat.seq - 1];
    const rows = Object.fromEntries(hopFields(nat, prev).map((r) => [r.name, r]));
    expect(rows.flow?.value).toMatch(/^10\.244\.1\.2:\d+ → 10\.244\.2\.[23]:8080$/);
    expect(rows.flow?.value.endsWith(`→ ${nat.nat?.to}`)).toBe(true);
    expect(rows.nat).toMatchObject({
      tone: 'nat',
      value: expect.stringMatching(/^DNAT 10\.96\.0\.10:80 → 10\.244\.2\.[23]:8080$/),
    });
    expect(rows.proto?.value).toMatch(/^tcp · SYN/);
    const routed = ping.hops[3];
    const before = ping.hops[2];
    if (!routed || !before) throw new Error('fixture too short');
    const ttl = hopFields(routed, before).find((r) => r.name === 'ttl');
    expect(ttl?.value).toBe(routed.ttl === before.ttl ? `${routed.ttl}` : `${routed.ttl} (${routed.ttl - before.ttl})`);
    const end = ping.hops.at(-1);
    if (!end) throw new Error('fixture too short');
    expect(hopFields(end).find((r) => r.name === 'end')).toMatchObject({ tone: 'ok', value: 'end: CONSUMED' });
    expect(socketFields({ call: 'connect', from: 'a:1', to: 'b:2', program: 'p' }).map((r) => r.name)).toEqual([
      'call',
      'from',
      'to',
      'prog-0',
    ]);
  });
});

describe('exports', () => {
  it('reads the colours the browser computes, and prints them light-for-dark', () => {
    expect(toHex(parseColor('rgb(255, 255, 255)') ?? { r: 0, g: 0, b: 0, a: 0 })).toBe('#ffffff');
    // tailwind's sky-400 as Chromium computes it
    const sky = parseColor('oklch(0.746 0.16 232.661)');
    expect(sky && toHex(sky)).toBe('#00bcff');
    expect(parseColor('oklab(0.208 -0.004 -0.04 / 0.6)')?.a).toBeCloseTo(0.6);
    expect(parseColor('#0f172a')).toMatchObject({ a: 1 });
    expect(parseColor('none')).toBeUndefined();
    expect(parseColor('url("#m")')).toBeUndefined();
    const black = { r: 0, g: 0, b: 0, a: 1 };
    const white = { r: 1, g: 1, b: 1, a: 1 };
    expect(toHex(printColor(black))).toBe('#ffffff');
    expect(toHex(printColor(white))).toBe('#000000');
    // a light accent on black becomes a dark one on white, and stays as readable
    if (!sky) throw new Error('unparsed');
    expect(contrast(printColor(sky), white)).toBeGreaterThan(4.5);
    expect(contrast(sky, black)).toBeGreaterThan(4.5);
    // ...and keeps its colour: blue still dominates, not a near-black navy
    const inkSky = printColor(sky);
    expect(inkSky.b).toBeGreaterThan(0.5);
    expect(inkSky.b).toBeGreaterThan(inkSky.r + 0.3);
    // a dark tinted fill (amber-950, a NAT box) becomes a pale tint, dark text still reads on it
    const natFill = parseColor('oklch(0.279 0.077 45.635)');
    if (!natFill) throw new Error('unparsed');
    expect(contrast(printColor(natFill), black)).toBeGreaterThan(12);
  });

  it('the JSON is follow --json’s: the Journey, 2-space indented, and it parses back', () => {
    const text = journeyJson(ping);
    expect(text.endsWith('}\n')).toBe(true);
    expect(Journey.parse(JSON.parse(text))).toEqual(ping);
    expect(text).toBe(`${JSON.stringify(ping, null, 2)}\n`);
    expect(exportName({ from: 'pod-a', to: '10.96.0.10', id: 'f/1' }, 'svg', 'print')).toBe(
      'journey-pod-a-10.96.0.10-f_1-print.svg',
    );
  });

  it('the step camera centres the hop at a readable scale, inside the drawing', () => {
    const size = { width: 1572, height: 900 };
    // drawn at half size: zoom 2x to get 1 px per unit
    const t = focusTransform(800, 300, size, 0.5, 1);
    expect(t.k).toBeCloseTo(2);
    expect(t.applyX(800)).toBeCloseTo(size.width / 2);
    expect(t.applyY(300)).toBeCloseTo(size.height / 2);
    // near an edge it does not pan past the drawing
    const edge = focusTransform(10, 10, size, 0.5, 1);
    expect(edge.x).toBe(0);
    expect(edge.y).toBe(0);
    // already readable: the whole drawing
    expect(focusTransform(800, 300, size, 1.2, 1).k).toBe(1);
  });
});
