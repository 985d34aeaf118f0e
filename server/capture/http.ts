// GET /captures/<name>: download a saved capture as annotated pcapng (the user's notes and tracer hops
// merged into opt_comment). Returns false for URLs that are not ours so the server can route them on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCaptureFile } from './pcap';
import { annotationText, splitIfName, writePcapng } from './pcapng-writer';
import { captureDir, openSaved, readNotes, readSaved } from './store';
import { CaptureError } from './targets';

const PREFIX = '/captures/';

/** Re-emits a saved file with the sidecar annotations added to each packet's comments. */
export async function annotatedExport(name: string, dir = captureDir(), bytes?: Buffer): Promise<Buffer> {
  const [raw, notes] = await Promise.all([bytes ?? readSaved(name, dir), readNotes(name, dir)]);
  if (Object.keys(notes).length === 0) return raw;
  const file = readCaptureFile(raw);
  return writePcapng((w) => {
    const ids = file.interfaces.map((i, n) => {
      const { netns, ifname } = splitIfName(i.name ?? `if${n}@file`);
      return w.iface(netns, ifname, i.linktype, i.snaplen || 262144);
    });
    file.records.forEach((r, idx) => {
      const extra = (notes[String(idx)] ?? []).map(annotationText);
      w.packetWithComments(ids[r.iface] ?? 0, r, [...r.comments, ...extra]);
    });
  });
}

function send(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

/**
 * Streams the file as it is when it has no notes, else re-emits it with them; one descriptor, opened
 * without following links, serves both.
 */
async function download(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const { fh, size } = await openSaved(name);
  const headers = {
    'content-type': 'application/x-pcapng',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
  };
  try {
    const notes = await readNotes(name);
    if (Object.keys(notes).length === 0) {
      res.writeHead(200, { ...headers, 'content-length': String(size) });
      if (req.method === 'HEAD' || size === 0) return void (res.end(), await fh.close());
      // Exactly the bytes announced, even while the file grows; the stream closes the handle at its end.
      fh.createReadStream({ end: size - 1 })
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    const body = await annotatedExport(name, captureDir(), await fh.readFile());
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/** `url`: the request's, already parsed by the caller (an unparsable one is not ours). */
export function handleCaptureDownload(
  req: IncomingMessage,
  res: ServerResponse,
  url = URL.parse(req.url ?? '/', 'http://localhost'),
): boolean {
  if (!url?.pathname.startsWith(PREFIX)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed');
    return true;
  }
  let name: string;
  try {
    name = decodeURIComponent(url.pathname.slice(PREFIX.length));
  } catch {
    send(res, 400, 'bad capture name encoding');
    return true;
  }
  void (async () => {
    try {
      await download(req, res, name);
    } catch (e) {
      if (res.headersSent) res.destroy();
      else if (e instanceof CaptureError) send(res, /^no capture named/.test(e.message) ? 404 : 400, e.message);
      else send(res, 500, `cannot export "${name}": ${e instanceof Error ? e.message : String(e)}`);
    }
  })();
  return true;
}
