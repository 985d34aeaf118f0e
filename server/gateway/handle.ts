// The one shape of a request handler: the ack must be a function, the request is parsed with zod, and
// the answer is the value or one line of error. Handlers never throw into socket.io.
import type { z } from 'zod';
import { fail, issueMsg, ok, type AckFn } from '../protocol/common';
import { errorLine, errorMsg, UserError } from '../sys/errors';

export function handle<S extends z.ZodType, T>(schema: S, fn: (req: z.infer<S>) => Promise<T> | T) {
  return (req: unknown, ack: AckFn<T>): void => {
    if (typeof ack !== 'function') return;
    const p = schema.safeParse(req ?? {});
    if (!p.success) return ack(fail(issueMsg(p.error)));
    let run: Promise<T>;
    try {
      run = Promise.resolve(fn(p.data));
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      (v) => ack(ok(v)),
      (e: unknown) => ack(fail(errorLine(e), errorMsg(e))),
    );
  };
}

/** For steps whose every failure is the user's to read (a lab up, a live filter's namespace): keep their words. */
export function asUserError(e: unknown): UserError {
  return e instanceof UserError ? e : new UserError(e instanceof Error ? e.message : String(e));
}
