// Plays a recording: its steps are the instructor's recorded views, in file order. The position is a
// step index; what is shown there (the view, the topology and lab status as of that step's time) is a
// function of the file and the index alone, so stepping is exact and a replay is the same every time.
// Playing waits the recorded gap between two steps divided by the speed.
import { msg } from '../protocol/i18n/msg';
import type { ClassView } from '../protocol/classroom';
import type { LabStatus } from '../protocol/lab';
import type { ReplayControlReq, ReplayStatus } from '../protocol/replay';
import type { Topology } from '../protocol/topology';
import { UserError } from '../sys/errors';
import { resolveViews, type Recording } from './format';

export interface Player {
  status(): NonNullable<ReplayStatus['replay']>;
  control(req: ReplayControlReq): void;
  /** The view of the current step, its journey whole (null before the first step). */
  view(): ClassView | null;
  topology(): Topology | undefined;
  lab(): LabStatus | undefined;
  /** Called after every change of position or play state. */
  onChange(fn: () => void): () => void;
  dispose(): void;
}

export interface PlayerOptions {
  readonly file: string;
  readonly speed?: number;
  readonly captures: readonly string[];
  readonly timers?: { set: (fn: () => void, ms: number) => unknown; clear: (h: unknown) => void };
}

/** The last entry of `kind` at or before `t` (the first one when none is that early). */
function asOf<T>(list: readonly { t: number; data: T }[], t: number): T | undefined {
  let found = list[0]?.data;
  for (const e of list) {
    if (e.t > t) break;
    found = e.data;
  }
  return found;
}

export function createPlayer(rec: Recording, opts: PlayerOptions): Player {
  const steps = resolveViews(rec.entries);
  const topologies = rec.entries.flatMap((e) => (e.kind === 'topology' ? [e] : []));
  const labs = rec.entries.flatMap((e) => (e.kind === 'lab' ? [e] : []));
  const journeys = rec.entries.filter((e) => e.kind === 'journey').length;
  const durationMs = rec.entries.at(-1)?.t ?? 0;
  const speed = opts.speed ?? 1;
  const timers = opts.timers ?? {
    set: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clear: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
  const fns = new Set<() => void>();
  let step = steps.length ? 0 : -1;
  let playing = false;
  let timer: unknown;

  const at = (): number => steps[step]?.t ?? 0;
  const changed = (): void => {
    for (const fn of fns) fn();
  };
  const stopTimer = (): void => {
    if (timer !== undefined) timers.clear(timer);
    timer = undefined;
  };
  const schedule = (): void => {
    stopTimer();
    if (!playing) return;
    const next = steps[step + 1];
    if (!next) {
      playing = false;
      return;
    }
    timer = timers.set(
      () => {
        timer = undefined;
        step++;
        schedule();
        changed();
      },
      Math.max(0, (next.t - at()) / speed),
    );
  };
  const go = (i: number): void => {
    step = Math.max(0, Math.min(steps.length - 1, i));
  };

  return {
    status: () => ({
      file: opts.file,
      recordedAt: rec.header.createdAt,
      host: rec.header.host,
      steps: steps.length,
      step,
      playing,
      speed,
      at: at(),
      durationMs,
      journeys,
      captures: [...opts.captures],
    }),
    control(req) {
      if (!steps.length) throw new UserError(msg('err.replay.noSteps'));
      switch (req.action) {
        case 'play':
          // From the end, play starts over.
          if (step >= steps.length - 1) go(0);
          playing = true;
          break;
        case 'pause':
          playing = false;
          break;
        case 'next':
          go(step + 1);
          break;
        case 'prev':
          go(step - 1);
          break;
        case 'first':
          go(0);
          break;
        case 'last':
          go(steps.length - 1);
          break;
        case 'seek':
          if (req.step >= steps.length)
            throw new UserError(msg('err.replay.pastLast', { step: req.step + 1, last: steps.length }));
          go(req.step);
      }
      schedule();
      changed();
    },
    view() {
      const s = steps[step];
      if (!s) return null;
      return { ...s.view, journey: s.journey && { id: s.journey.id, full: s.journey } };
    },
    topology: () => asOf(topologies, at()),
    lab: () => asOf(labs, at()),
    onChange(fn) {
      fns.add(fn);
      return () => fns.delete(fn);
    },
    dispose() {
      stopTimer();
      fns.clear();
    },
  };
}
