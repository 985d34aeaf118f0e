// `trace --flows` through the running server: its flow view's watch (`flows:watch`, then a
// `flows:update` per loader tick, each parsed with FlowsState), `flows:unwatch` at the end; the server
// stops the view in the kernel a second after its last watcher leaves (flows/socket.ts FLOWS_IDLE_MS).
import type { LeanSocket } from '../cli-socket';
import { FlowsState } from '../protocol/flows';
import { UserError } from '../sys/errors';

const WATCH_MS = 30_000;

/**
 * Calls `onTick` with each state that carries a new tick, as the local view's listener gets them: not
 * the watch's first answer (counted before this command came), nor the start's or the stop's states
 * (seq 0, or the last tick's seq again).
 */
export async function remoteFlows(
  socket: Pick<LeanSocket, 'request' | 'emit' | 'on' | 'onGone'>,
  onTick: (s: FlowsState) => void,
  onFail: (e: Error) => void,
): Promise<{ stop(): void }> {
  let open = true;
  let last: number | undefined;
  const take = (s: FlowsState): void => {
    if (!open) return;
    if (!s.running && s.error !== undefined) return onFail(new UserError(s.error));
    if (s.seq === 0 || s.seq === last) return;
    last = s.seq;
    onTick(s);
  };
  const early: FlowsState[] = [];
  socket.on('flows:update', (raw) => {
    const s = FlowsState.safeParse(raw);
    if (!s.success)
      return onFail(
        new Error(`the server sent a flows update this command cannot read: ${s.error.issues[0]?.message}`),
      );
    if (last === undefined) early.push(s.data);
    else take(s.data);
  });
  socket.onGone((why) => open && onFail(new Error(`the server went away (${why})`)));
  const a = await socket.request('flows:watch', {}, WATCH_MS);
  if (!a.ok) throw new Error(a.error);
  const first = FlowsState.safeParse(a.value);
  if (!first.success)
    throw new Error(`the server answered a flows watch this command cannot read: ${first.error.issues[0]?.message}`);
  last = first.data.seq;
  for (const s of early.splice(0)) take(s);
  return {
    stop() {
      if (!open) return;
      open = false;
      socket.emit('flows:unwatch', undefined);
    },
  };
}
