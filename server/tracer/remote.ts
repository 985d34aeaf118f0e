// A follow through the running server (running-server.ts): its warm, shared probe loader sends and
// follows the packet (`tracer:follow`), and the final journey comes back in the ack, parsed here with the
// same schema the browser uses. The CLI prints it exactly as a journey it followed itself.
import { Journey, type FollowRequest } from '../protocol/tracer';
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
  if (!a.ok) {
    // The server's user errors (an unknown namespace, no route) are one line, as they are locally.
    if (a.error.startsWith('internal error: ')) throw new Error(a.error.slice('internal error: '.length));
    throw new UserError(a.error);
  }
  const j = Journey.safeParse(a.value);
  if (!j.success)
    throw new Error(`the server answered a journey this command cannot read: ${j.error.issues[0]?.message}`);
  return j.data;
}
