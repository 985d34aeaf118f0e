// High-rate streams reach the browser as arrays, at most one emit per interval, never one per event.

export interface Batcher<T> {
  /** When the pending batch is full, drops the item (or, with `keepNewest`, the oldest pending one). */
  push(item: T): void;
  /** Counts an item dropped upstream (it reaches the consumer in the next batch's count). */
  skip(): void;
  flush(): void;
  stop(): void;
  /** Items dropped (pending batch full, or skipped): the consumer is told, not left guessing. */
  readonly dropped: number;
}

export function createBatcher<T>(
  emit: (items: T[], dropped: number) => void,
  opts: { intervalMs?: number; maxPending?: number; keepNewest?: boolean } = {},
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

  const drop = (): void => {
    droppedSinceFlush++;
    droppedTotal++;
    timer ??= setTimeout(flush, intervalMs);
  };

  return {
    push(item) {
      if (pending.length >= maxPending) {
        drop();
        // A live view wants the newest: the oldest makes room.
        if (!opts.keepNewest) return;
        pending.shift();
      }
      pending.push(item);
      timer ??= setTimeout(flush, intervalMs);
    },
    skip: drop,
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
