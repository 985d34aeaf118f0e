// The step-through of a journey, as pure functions: which steps there are (the socket rewrite, every
// request hop, every reply hop, the diagnosis), what each one says, and how keys and the play timer move
// through them. The components only render what these return, and the unit tests read them directly.
import { tx } from '../../i18n/current';
import type { Hop, Journey, SocketRewrite } from '../../../server/protocol/tracer';
import { flowLine, natText } from '../../../server/protocol/vocab';
import { socketRewriteLine } from '../hop-diagram/format';
import type { PathKind } from '../hop-diagram/test-ids';

/** One hop per ~1.5 s while playing: long enough to read the narration aloud. */
export const PLAY_INTERVAL_MS = 1500;

export type Step =
  | {
      readonly kind: 'socket';
      readonly key: 'socket';
      readonly rewrite: SocketRewrite;
      readonly narration: string;
    }
  | {
      readonly kind: 'hop';
      /** The hop diagram's box key, `request:3`. */
      readonly key: string;
      readonly path: PathKind;
      readonly hop: Hop;
      /** The hop before it on the same path (for the TTL change). */
      readonly prev?: Hop;
      readonly narration: string;
    }
  | {
      readonly kind: 'diagnosis';
      readonly key: 'diagnosis';
      readonly narration: string;
      /** The box the diagnosis is about (the real drop, else the last request hop), kept highlighted. */
      readonly at?: string;
    };

/** What a hop says when the server gave it no reason (live views, an explainer that ran out of time). */
export function fallbackNarration(h: Hop): string {
  const nat = h.nat ? `, ${natText(h.nat)}` : '';
  return tx(`steps.${h.dir}`, { ns: h.netns, ifname: h.ifname, flow: flowLine(h), nat });
}

export const hopNarration = (h: Hop): string => h.reason ?? fallbackNarration(h);

/** Steps in travel order. A journey still being traced has steps too: they grow as hops arrive. */
export function journeySteps(j: Journey): Step[] {
  const steps: Step[] = [];
  if (j.socketRewrite)
    steps.push({
      kind: 'socket',
      key: 'socket',
      rewrite: j.socketRewrite,
      narration: tx('steps.socket', { line: socketRewriteLine(j.socketRewrite) }),
    });
  const legs: [PathKind, readonly Hop[]][] = [
    ['request', j.hops],
    ['reply', j.reply?.hops ?? []],
  ];
  for (const [path, hops] of legs)
    hops.forEach((hop, i) => {
      const prev = i > 0 ? hops[i - 1] : undefined;
      steps.push({
        kind: 'hop',
        key: `${path}:${hop.seq}`,
        path,
        hop,
        ...(prev && { prev }),
        narration: hopNarration(hop),
      });
    });
  if (j.diagnosis && !j.delivered) {
    const hopSteps = steps.filter((s): s is Extract<Step, { kind: 'hop' }> => s.kind === 'hop');
    const at = (hopSteps.find((s) => s.hop.drop?.isRealDrop) ?? hopSteps.filter((s) => s.path === 'request').at(-1))
      ?.key;
    steps.push({ kind: 'diagnosis', key: 'diagnosis', narration: j.diagnosis, ...(at && { at }) });
  }
  return steps;
}

/** The hop box a step lights up in the diagram, if any. */
export function stepBox(s: Step | undefined): string | undefined {
  if (!s) return undefined;
  if (s.kind === 'hop') return s.key;
  if (s.kind === 'diagnosis') return s.at;
  return undefined;
}

/** The interface the MAC map lights up for a step: the hop's, or the diagnosed hop's. */
export function stepIface(
  steps: readonly Step[],
  s: Step | undefined,
): { readonly netns: string; readonly ifname: string } | undefined {
  const box = stepBox(s);
  const hop = steps.find((x): x is Extract<Step, { kind: 'hop' }> => x.kind === 'hop' && x.key === box)?.hop;
  return hop ? { netns: hop.netns, ifname: hop.ifname } : undefined;
}

/** Where the stepper is: -1 before the first step (the ordinary, un-stepped view). */
export interface StepState {
  readonly index: number;
  readonly playing: boolean;
}

export const STEP_START: StepState = { index: -1, playing: false };

export type StepAction =
  | { readonly type: 'next' }
  | { readonly type: 'prev' }
  | { readonly type: 'first' }
  | { readonly type: 'last' }
  | { readonly type: 'toggle-play' }
  /** The play timer: one step on, and stop on the last. */
  | { readonly type: 'tick' }
  /** A hop clicked in the diagram while stepping. */
  | { readonly type: 'goto'; readonly index: number }
  | { readonly type: 'exit' };

const clamp = (i: number, n: number): number => Math.max(0, Math.min(n - 1, i));

/** The next state for `count` steps. With no steps nothing moves. */
export function stepReducer(s: StepState, a: StepAction, count: number): StepState {
  if (count <= 0) return STEP_START;
  switch (a.type) {
    case 'next':
      return { index: clamp(s.index + 1, count), playing: false };
    case 'prev':
      return { index: s.index < 0 ? 0 : clamp(s.index - 1, count), playing: false };
    case 'first':
      return { index: 0, playing: false };
    case 'last':
      return { index: count - 1, playing: false };
    case 'toggle-play':
      if (s.playing) return { ...s, playing: false };
      // Play from the top when nothing is shown yet or the last step is: space always shows motion.
      return { index: s.index < 0 || s.index >= count - 1 ? 0 : s.index, playing: true };
    case 'tick': {
      if (!s.playing) return s;
      const index = clamp(s.index + 1, count);
      return { index, playing: index < count - 1 };
    }
    case 'goto':
      return { index: clamp(a.index, count), playing: false };
    case 'exit':
      return STEP_START;
  }
}

/** The key's action in the step-through, or undefined when it is not ours. */
export function stepKey(key: string): StepAction | undefined {
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return { type: 'next' };
    case 'ArrowLeft':
    case 'ArrowUp':
      return { type: 'prev' };
    case 'Home':
      return { type: 'first' };
    case 'End':
      return { type: 'last' };
    case ' ':
      return { type: 'toggle-play' };
    case 'Escape':
      return { type: 'exit' };
    default:
      return undefined;
  }
}

/** What a key does page-wide (projector mode, full screen, the shortcut list). */
export type GlobalKey = 'projector' | 'fullscreen' | 'help';

export function globalKey(key: string): GlobalKey | undefined {
  if (key === 'p' || key === 'P') return 'projector';
  if (key === 'f' || key === 'F') return 'fullscreen';
  if (key === '?') return 'help';
  return undefined;
}

/** The element a key went to, as much of it as decides whether the key is typing. */
export interface KeyTarget {
  readonly tagName?: string;
  readonly isContentEditable?: boolean;
  readonly type?: string;
  /** Focused from the keyboard (Tab), not by a click. */
  readonly keyboardFocus?: boolean;
}

const TYPING_INPUTS = new Set(['text', 'search', 'number', 'email', 'url', 'tel', 'password', '']);

/**
 * Keys typed into a field, a select or an editable element are the user's text, not shortcuts. Buttons
 * and checkboxes are not typing (space on them: see `spaceIsControls`).
 */
export function isTyping(t: KeyTarget | null | undefined): boolean {
  if (!t) return false;
  if (t.isContentEditable) return true;
  const tag = (t.tagName ?? '').toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') return TYPING_INPUTS.has((t.type ?? '').toLowerCase());
  return false;
}

/**
 * Space on a button reached with Tab is that button's click. On one just clicked with the mouse (the
 * Follow button, a tab) it is play/pause: the presenter's hand is on the keyboard, not on that button.
 */
export function spaceIsControls(t: KeyTarget | null | undefined): boolean {
  const tag = (t?.tagName ?? '').toUpperCase();
  return ['BUTTON', 'A', 'INPUT', 'SUMMARY'].includes(tag) && t?.keyboardFocus === true;
}

/** Modifiers mean a browser or OS shortcut (ctrl+f, ⌘+p): never ours. */
export const hasModifier = (e: { ctrlKey: boolean; metaKey: boolean; altKey: boolean }): boolean =>
  e.ctrlKey || e.metaKey || e.altKey;

/** The list `?` shows, one row per shortcut. */
export const shortcuts = (): readonly { readonly keys: string; readonly what: string }[] => [
  { keys: '→ / ↓', what: tx('steps.next') },
  { keys: '← / ↑', what: tx('steps.previous') },
  { keys: tx('steps.homeEnd'), what: tx('steps.firstLast') },
  { keys: tx('steps.space'), what: tx('steps.play', { s: PLAY_INTERVAL_MS / 1000 }) },
  { keys: 'Esc', what: tx('steps.leave') },
  { keys: 'f', what: tx('steps.fullscreen') },
  { keys: 'p', what: tx('steps.projector') },
  { keys: '?', what: tx('steps.list') },
];
