// Errors a user caused (bad name, no route, a limit reached): their message is the one line the user
// sees. Anything else reaching a request handler is ours, and is reported as an internal error.
export class UserError extends Error {}

/** The one line a failure is reported as. */
export function errorLine(e: unknown): string {
  const first = (s: string): string => s.split('\n')[0] ?? s;
  if (e instanceof UserError) return first(e.message);
  return `internal error: ${first(e instanceof Error ? e.message : String(e))}`;
}
