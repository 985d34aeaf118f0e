// One typed emitter for in-process events between capabilities (e.g. the tracer telling captures about
// a journey), keyed by event name so a handler's argument type follows from the name.
import type { Journey } from '../protocol/tracer';

type Handler = (...args: never[]) => void;

export class TypedEmitter<E extends Record<keyof E, Handler>> {
  private readonly handlers = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(event: K, fn: E[K]): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    for (const fn of this.handlers.get(event) ?? []) {
      try {
        (fn as (...a: Parameters<E[K]>) => void)(...args);
      } catch {
        // A failing subscriber must not break the emitter's caller (e.g. a follow's answer).
      }
    }
  }
}

export interface ServerBusEvents {
  /** A journey the tracer finished (follow) or assembled (live): captures annotate the frames it crossed. */
  'tracer:journey': (j: Journey) => void;
}

export const serverBus = new TypedEmitter<ServerBusEvents>();
