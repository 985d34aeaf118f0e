// The one "runs while someone holds it" primitive: pollers, watchers, the probe loader and unsaved
// captures all start on their first holder and stop a grace period after the last one lets go (a page
// reload or a follow right after another reattaches in time, without a restart).

export interface Holders {
  /** Takes a hold; the function it returns lets go (calling it twice is harmless). */
  acquire(): () => void;
  /** Holds right now. */
  readonly count: number;
  /** True from the first hold until `onIdle` has run. */
  readonly active: boolean;
  /** Cancels a pending idle stop without running it (the owner is shutting down anyway). */
  dispose(): void;
}

export interface HoldersOptions {
  /** Runs when the first hold is taken while inactive. */
  readonly onFirst?: () => void;
  /** Runs `graceMs` after the last hold is released, unless a new hold came first. */
  readonly onIdle: () => void;
  readonly graceMs?: number;
  /** Don't keep the process alive for the grace timer alone. */
  readonly unref?: boolean;
}

export function holders(o: HoldersOptions): Holders {
  let count = 0;
  let active = false;
  let timer: NodeJS.Timeout | undefined;
  const cancel = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const idle = (): void => {
    timer = undefined;
    if (count > 0) return;
    active = false;
    o.onIdle();
  };
  return {
    acquire() {
      count++;
      cancel();
      if (!active) {
        active = true;
        o.onFirst?.();
      }
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        count--;
        if (count > 0) return;
        const grace = o.graceMs ?? 0;
        if (grace <= 0) return idle();
        timer = setTimeout(idle, grace);
        if (o.unref) timer.unref();
      };
    },
    get count() {
      return count;
    },
    get active() {
      return active;
    },
    dispose: cancel,
  };
}
