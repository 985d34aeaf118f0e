// Lab status as a watch: one poller shared by every watcher, running only while someone watches, and an
// update only when something changed. `lab:run` is one up/down at a time, its progress sent to watchers.
import { msg } from '../protocol/i18n/msg';
import { asUserError, handle } from '../gateway/handle';
import { createWatch } from '../gateway/watch';
import { LabAction, LabProgAction, type LabStatus } from '../protocol/lab';
import type { Attach } from '../gateway/types';
import { UserError } from '../sys/errors';
import { labDown, labStatus, labUp } from './lab';
import { labSet } from './set';
import { labProg } from './progs';

const POLL_MS = 1000;

export const attach: Attach = (io) => {
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let inFlight = false;
  let last = '';
  let current: LabStatus | undefined;

  const publish = (s: LabStatus): void => {
    current = s;
    const json = JSON.stringify(s);
    if (json === last) return;
    last = json;
    watch.publish(s);
  };
  const poll = async (): Promise<void> => {
    inFlight = true;
    try {
      const st = await labStatus();
      // Nobody watches any more (idle came while this read ran): it would be a stale `current`.
      if (polling) publish(st);
    } catch {
      // Status reads /proc and iproute2; a transient failure is retried on the next tick.
    }
    inFlight = false;
    timer = polling ? setTimeout(() => void poll(), POLL_MS) : undefined;
  };

  const watch = createWatch(io, {
    topic: 'lab',
    current: async () => (polling ? current : undefined) ?? (await labStatus()),
    onFirst: () => {
      polling = true;
      if (!timer && !inFlight) void poll();
    },
    onIdle: () => {
      polling = false;
      // Nobody polls now: the next watcher reads a fresh status instead of this one.
      current = undefined;
      last = '';
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    // A page reload re-watches within this, without a gap in polling.
    graceMs: POLL_MS,
  });

  // One up/down at a time: a second click while one runs gets an error instead of a race. A program action
  // waits for the running operation instead: the poll shows the lab up as its namespaces and programs
  // appear, before the operation's last steps return, and an Attach clicked on that must work (it was
  // refused as busy in CI). The lock covers the operation only, not the status read after it.
  let running: Promise<void> | undefined;
  const exclusive = async <T>(
    op: (progress: (step: string) => void) => Promise<T>,
    opts: { wait?: boolean } = {},
  ): Promise<T> => {
    if (opts.wait) while (running) await running;
    else if (running) throw new UserError(msg('err.lab.busy'));
    let done: () => void = () => undefined;
    running = new Promise<void>((r) => (done = r));
    let out: T;
    try {
      out = await op((step) => io.to(watch.room).emit('lab:progress', step));
    } catch (e) {
      // A failed operation is the user's to read (a missing tool, a name in use), in its own words.
      throw asUserError(e);
    } finally {
      running = undefined;
      done();
    }
    publish(await labStatus());
    return out;
  };
  const run = handle(LabAction, async (a) => {
    await exclusive(async (onProgress) => {
      if (a.action === 'up') await labUp({ scenario: a.scenario, onProgress });
      else if (a.action === 'down') await labDown({ onProgress });
      else await labSet(a.name, a.value, { onProgress });
    });
    return current ?? labStatus();
  });
  const prog = handle(LabProgAction, (a) => exclusive(() => labProg(a), { wait: true }));
  io.on('connection', (socket) => {
    socket.on('lab:run', run);
    socket.on('lab:prog', prog);
  });

  return () => {
    watch.dispose();
  };
};
