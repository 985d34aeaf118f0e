'use client';
// The step-through's state for one journey: steps.ts decides, this hook holds the index, runs the play
// timer, listens to the keyboard while its view is on screen, and tells the MAC map where the step is.
import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import type { Journey } from '../../../server/protocol/tracer';
import { useProjector } from './projector-context';
import { useStepSync } from './step-sync';
import {
  hasModifier,
  isTyping,
  journeySteps,
  spaceIsControls,
  PLAY_INTERVAL_MS,
  STEP_START,
  stepIface,
  stepKey,
  stepReducer,
  type Step,
  type StepAction,
  type StepState,
} from './steps';

export interface Stepper {
  readonly steps: readonly Step[];
  /** -1: not stepping (the ordinary view). */
  readonly index: number;
  readonly step: Step | undefined;
  readonly playing: boolean;
  readonly dispatch: (a: StepAction) => void;
  /** Driven by the instructor's broadcast: no controls of its own. */
  readonly driven: boolean;
}

export function useStepper(journey: Journey, root: RefObject<HTMLElement | null>): Stepper {
  const steps = useMemo(() => journeySteps(journey), [journey]);
  const count = useRef(steps.length);
  count.current = steps.length;
  const [state, setState] = useState<StepState>(STEP_START);
  const { report, driven } = useStepSync();
  const isDriven = useRef(false);
  isDriven.current = driven !== undefined;
  const dispatch = useCallback((a: StepAction) => {
    if (!isDriven.current) setState((s) => stepReducer(s, a, count.current));
  }, []);
  const { helpOpen, setFocus } = useProjector();

  // Another journey: start over.
  useEffect(() => setState(STEP_START), [journey.id]);

  // Following the instructor: the received step is the step (declared after the reset above, so a new
  // journey and its step arrive together).
  useEffect(() => {
    if (driven !== undefined) setState({ index: driven, playing: false });
  }, [driven, journey.id]);

  useEffect(() => {
    if (!state.playing) return;
    const t = setTimeout(() => dispatch({ type: 'tick' }), PLAY_INTERVAL_MS);
    return () => clearTimeout(t);
  }, [state, dispatch]);

  // What the last click landed on: a button focused that way is not being driven from the keyboard.
  // (:focus-visible cannot tell: Chrome turns it on for the focused element at the first key press.)
  const clicked = useRef<Node | null>(null);
  useEffect(() => {
    const down = (e: PointerEvent) => (clicked.current = e.target as Node | null);
    const tab = (e: KeyboardEvent) => {
      if (e.key === 'Tab') clicked.current = null;
    };
    window.addEventListener('pointerdown', down, true);
    window.addEventListener('keydown', tab, true);
    return () => {
      window.removeEventListener('pointerdown', down, true);
      window.removeEventListener('keydown', tab, true);
    };
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = root.current;
      // Hidden tabs stay mounted: only the view on screen steps.
      if (!el || el.getClientRects().length === 0 || helpOpen || driven !== undefined) return;
      if (e.defaultPrevented || hasModifier(e)) return;
      const target = e.target as HTMLElement | null;
      if (isTyping(target)) return;
      const keyboardFocus = !(target && clicked.current && target.contains(clicked.current));
      if (e.key === ' ' && spaceIsControls({ tagName: target?.tagName, keyboardFocus })) return;
      const a = stepKey(e.key);
      if (!a || (a.type === 'exit' && state.index < 0)) return;
      e.preventDefault();
      dispatch(a);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [root, helpOpen, dispatch, state.index, driven]);

  const index = Math.min(state.index, steps.length - 1);
  const step = index >= 0 ? steps[index] : undefined;
  const iface = stepIface(steps, step);
  const ifaceKey = iface ? `${iface.netns}/${iface.ifname}` : '';
  useEffect(() => {
    const [netns = '', ifname = ''] = ifaceKey.split('/');
    setFocus(ifaceKey ? { netns, ifname } : undefined);
  }, [ifaceKey, setFocus]);
  useEffect(() => () => setFocus(undefined), [setFocus]);

  // The instructor's page: what is on screen goes to the classroom (a hidden tab's view does not).
  useEffect(() => {
    if (report && root.current && root.current.getClientRects().length > 0) report({ journey, index });
  }, [report, journey, index, root]);
  useEffect(() => () => report?.(null), [report]);

  return { steps, index, step, playing: state.playing, dispatch, driven: driven !== undefined };
}
