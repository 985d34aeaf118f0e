// A follow (and a `trace`'s live view) through the running server (running-server.ts): its warm, shared probe loader sends and
// follows the packet (`tracer:follow`), and the final journey comes back in the ack, parsed here with the
// same schema the browser uses. The CLI prints it exactly as a journey it followed itself.
import { Journey, LiveBatch, LiveStarted, type FollowRequest, type LiveFilter } from '../protocol/tracer';
import type { LeanSocket } from '../cli-socket';
import { UserError } from '../sys/errors';

/** Beyond the follow's own timeout: the explanation's budget and the round trip. */
const ANSWER_MARGIN_MS = 10_000;

export async function remoteFollow(socket: Pick<LeanSocket, 'request'>, req: FollowRequest): Promise<Journey> {
  const a = await socket.request(
    'tracer:follow',
    req,
    (req.timeoutMs ?? 3000) * (req.rules ? 2 : 1) + ANSWER_MARGIN_MS,
  );
  if (!a.ok) throw ackError(a.error);
  const j = Journey.safeParse(a.value);
  if (!j.success)
    throw new Error(`the server answered a journey this command cannot read: ${j.error.issues[0]?.message}`);
  return j.data;
}

/** A live view's start may wait for the server's loader to come up (attach: a few seconds). */
const LIVE_START_MS = 30_000;
const LIVE_STOP_MS = 10_000;

/**
 * A headless live view through the running server (`trace` without --local): `tracer:live:start`, the
 * trace's `tracer:live` batches (each parsed with LiveBatch), `tracer:live:stop` at the end, awaited so
 * the server stops the kernel slot then rather than at the end of its session's resume grace. The
 * server's live views are budgeted (LIVE_BATCH_MAX a batch): what it drops is counted in `dropped`.
 */
export async function remoteTrace(
  socket: Pick<LeanSocket, 'request' | 'on' | 'onGone'>,
  filter: LiveFilter,
  onJourney: (j: Journey) => void,
  onFail: (e: Error) => void,
): Promise<{ readonly dropped: () => number; stop(): Promise<void> }> {
  let dropped = 0;
  let open = true;
  let started: LiveStarted | undefined = undefined;
  // Batches of a shared trace can only follow the ack (the server joins the room just before it), but a
  // trace another viewer runs may send one the moment we join: held until we know which trace is ours.
  const early: LiveBatch[] = [];
  const take = (b: LiveBatch): void => {
    const mine = started;
    if (!open || !mine || b.trace !== mine.trace) return;
    dropped += b.dropped;
    b.journeys.forEach((j, i) => b.from + i >= mine.from && onJourney(j));
  };
  socket.on('tracer:live', (raw) => {
    const b = LiveBatch.safeParse(raw);
    if (!b.success)
      return onFail(new Error(`the server sent a live batch this command cannot read: ${b.error.issues[0]?.message}`));
    if (started) take(b.data);
    else early.push(b.data);
  });
  socket.onGone((why) => open && onFail(new Error(`the server went away (${why})`)));
  const a = await socket.request('tracer:live:start', filter, LIVE_START_MS);
  if (!a.ok) throw ackError(a.error);
  const s = LiveStarted.safeParse(a.value);
  if (!s.success)
    throw new Error(`the server answered a live start this command cannot read: ${s.error.issues[0]?.message}`);
  started = s.data;
  for (const b of early.splice(0)) take(b);
  const liveId = started.liveId;
  return {
    dropped: () => dropped,
    async stop() {
      if (!open) return;
      // The stop's ack comes after the trace's last batch (the server flushes it first): still printed.
      const r = await socket.request('tracer:live:stop', { liveId }, LIVE_STOP_MS);
      open = false;
      if (!r.ok) throw ackError(r.error);
    },
  };
}

/** The server's user errors (a bad expression, an unknown namespace) are one line, as they are locally. */
function ackError(error: string): Error {
  if (error.startsWith('internal error: ')) return new Error(error.slice('internal error: '.length));
  return new UserError(error);
}
