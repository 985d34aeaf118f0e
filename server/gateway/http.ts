// The HTTP side of the one port: capture downloads go to the capture module, everything else to Next.
// A request handler must never throw (an exception leaves the connection open with no answer), and a
// URL that does not parse gets a 400 before any routing. With a guard, every request passes the same
// access check as a socket (Host, Origin, token) and a student downloads only what it may open.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { handleCaptureDownload } from '../capture/http';
import type { Access } from '../classroom/access';
import type { Classroom } from '../classroom';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | unknown;

export interface HttpGuard {
  readonly access: Access;
  readonly classroom: Classroom;
}

function answer(res: ServerResponse, code: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text + '\n');
}

/** True when the request was answered here (refused, or a link's token traded for a cookie). */
function guarded(g: HttpGuard, req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const why = g.access.refusal(req, { checkOrigin: true });
  if (why) {
    answer(res, g.access.tokens && !g.access.roleOf(req) ? 401 : 403, why);
    return true;
  }
  const role = g.access.roleOf(req);
  if (g.access.tokens && g.access.queryToken(req) && g.access.tokens.roleOf(g.access.queryToken(req))) {
    // The printed link: keep its token in a cookie (sent by the page, its assets and its socket) and
    // take it out of the address bar.
    url.searchParams.delete('token');
    res.writeHead(302, {
      location: url.pathname + url.search,
      'set-cookie': `${g.access.cookie}=${g.access.queryToken(req)}; HttpOnly; SameSite=Lax; Path=/`,
      'cache-control': 'no-store',
    });
    res.end();
    return true;
  }
  const m = /^\/captures\/([^/]+)$/.exec(url.pathname);
  const name = m?.[1] ? safeDecode(m[1]) : undefined;
  if (role === 'student' && name !== undefined && !g.classroom.downloadable(role, name)) {
    answer(res, 403, 'this capture is not shared with students');
    return true;
  }
  return false;
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** `guard` is read per request: the gateway that makes it is attached after this listener exists. */
export function requestListener(next: Handler, guard: () => HttpGuard | undefined = () => undefined): RequestListener {
  return (req, res) => {
    const g = guard();
    const url = URL.parse(req.url ?? '/', 'http://localhost');
    if (!url) return answer(res, 400, 'bad request: unparsable URL');
    try {
      if (g && guarded(g, req, res, url)) return;
      if (handleCaptureDownload(req, res, url)) return;
      Promise.resolve(next(req, res)).catch((e: unknown) => answer(res, 500, `internal error: ${String(e)}`));
    } catch (e) {
      answer(res, 500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
