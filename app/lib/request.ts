'use client';
// A request with an ack, as a promise: the answer is parsed with its zod schema (parse at the boundary),
// and no answer in time is a one-line error like any other.
import { Msg, msg } from '../../server/protocol/i18n/msg';
import { say } from '../i18n/current';
import type { z } from 'zod';
import type { Ack } from '../../server/protocol/common';
import type { ClientToServerEvents } from '../../server/protocol/events';
import type { PjClientSocket } from './socket';

/** The events that take a request and answer in an ack. */
export type RequestEvent = {
  [E in keyof ClientToServerEvents]: Parameters<ClientToServerEvents[E]> extends [unknown, unknown] ? E : never;
}[keyof ClientToServerEvents];

type LooseEmit = (ev: string, req: unknown, ack: (err: Error | null, r: unknown) => void) => void;

export function request<S extends z.ZodType>(
  socket: PjClientSocket,
  event: RequestEvent,
  req: unknown,
  schema: S,
  opts: { readonly timeoutMs?: number; readonly noAnswer?: string } = {},
): Promise<Ack<z.infer<S>>> {
  return new Promise((resolve) => {
    const timed = socket.timeout(opts.timeoutMs ?? 15_000);
    (timed.emit.bind(timed) as unknown as LooseEmit)(event, req, (err, r) => {
      if (err) return resolve({ ok: false, error: opts.noAnswer ?? say(msg('err.noAnswer')) });
      const a = r as Ack<unknown> | undefined;
      if (!a || typeof a !== 'object' || typeof a.ok !== 'boolean') return resolve(unreadable(event));
      // A keyed error is said in the page's language; its English `error` otherwise.
      if (!a.ok) {
        const m = Msg.safeParse(a.msg);
        return resolve({ ok: false, error: errorText(a), ...(m.success && { msg: m.data }) });
      }
      const p = schema.safeParse(a.value);
      resolve(p.success ? { ok: true, value: p.data } : unreadable(event));
    });
  });
}

const unreadable = (event: string): Ack<never> => ({ ok: false, error: say(msg('err.unreadable', { event })) });

function errorText(a: { error?: unknown; msg?: unknown }): string {
  const m = Msg.safeParse(a.msg);
  return m.success ? say(m.data) : String(a.error);
}
