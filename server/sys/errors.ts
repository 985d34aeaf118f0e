// Errors a user caused (bad name, no route, a limit reached): their message is the one line the user
// sees. Anything else reaching a request handler is ours, and is reported as an internal error.
// A UserError made from a Msg (server/protocol/i18n/) carries it, so the browser can say it in its
// language; its message is the Msg's English rendering (what the CLI and `error` show).
import { UsageError } from '../cli-args';
import { isMsg, msg, type Msg } from '../protocol/i18n/msg';
import { en } from '../protocol/i18n/render';

export class UserError extends Error {
  readonly msg?: Msg;
  constructor(what: string | Msg) {
    super(isMsg(what) ? en(what) : what);
    if (isMsg(what)) this.msg = what;
  }
}

/** For a CLI verb: a user's error is a usage error there (its one line, exit 2); anything else as it is. */
export const asUsage = (e: unknown): unknown => (e instanceof UserError ? new UsageError(e.message) : e);

const first = (s: string): string => s.split('\n')[0] ?? s;

/** The one line a failure is reported as. */
export function errorLine(e: unknown): string {
  if (e instanceof UserError) return first(e.message);
  return `internal error: ${first(e instanceof Error ? e.message : String(e))}`;
}

/**
 * The same line as a message: a keyed UserError's own Msg; an internal error framed (`internal error:`
 * translated, the detail as it came); undefined for a UserError with plain text (the UI shows `error`).
 */
export function errorMsg(e: unknown): Msg | undefined {
  if (e instanceof UserError) return e.msg;
  return msg('err.internal', { detail: first(e instanceof Error ? e.message : String(e)) });
}
