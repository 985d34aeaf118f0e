// High-rate streams reach the browser as arrays, at most one emit per interval, never one per event.

export interface Batcher<T> {
  push(item: T): void;
  flush(): void;
  stop(): void;
  /** Items dropped because the pending batch was full (the consumer is told, not left guessing). */
  readonly dropped: number;
}

export function createBatcher<T>(
  emit: (items: T[], dropped: number) => void,
  opts: { intervalMs?: number; maxPending?: number } = {},
): Batcher<T> {
  const intervalMs = opts.intervalMs ?? 50;
  const maxPending = opts.maxPending ?? 5000;
  let pending: T[] = [];
  let droppedSinceFlush = 0;
  let droppedTotal = 0;
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    timer = undefined;
    if (pending.length === 0 && droppedSinceFlush === 0) return;
    const items = pending;
    const dropped = droppedSinceFlush;
    pending = [];
    droppedSinceFlush = 0;
    emit(items, dropped);
  };

  return {
    push(item) {
      if (pending.length >= maxPending) {
        droppedSinceFlush++;
        droppedTotal++;
      } else {
        pending.push(item);
      }
      timer ??= setTimeout(flush, intervalMs);
    },
    flush() {
      if (timer) clearTimeout(timer);
      flush();
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = [];
    },
    get dropped() {
      return droppedTotal;
    },
  };
}
