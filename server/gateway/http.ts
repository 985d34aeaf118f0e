// The HTTP side of the one port: capture downloads go to the capture module, everything else to Next.
// A request handler must never throw (an exception leaves the connection open with no answer), and a
// URL that does not parse gets a 400 before any routing.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { handleCaptureDownload } from '../capture/http';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | unknown;

function answer(res: ServerResponse, code: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text + '\n');
}

export function requestListener(next: Handler): RequestListener {
  return (req, res) => {
    const url = URL.parse(req.url ?? '/', 'http://localhost');
    if (!url) return answer(res, 400, 'bad request: unparsable URL');
    try {
      if (handleCaptureDownload(req, res, url)) return;
      Promise.resolve(next(req, res)).catch((e: unknown) => answer(res, 500, `internal error: ${String(e)}`));
    } catch (e) {
      answer(res, 500, `internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
