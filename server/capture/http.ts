// GET /captures/<name>: download a saved capture as annotated pcapng (the user's notes and tracer hops
// merged into opt_comment). Returns false for URLs that are not ours so the server can route them on.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCaptureFile } from './pcap';
import { annotationText, splitIfName, writePcapng } from './pcapng-writer';
import { captureDir, capturePath, readNotes } from './store';
import { CaptureError } from './targets';

const PREFIX = '/captures/';

/** Re-emits a saved file with the sidecar annotations added to each packet's comments. */
export async function annotatedExport(name: string, dir = captureDir()): Promise<Buffer> {
  const path = capturePath(name, dir);
  const [bytes, notes] = await Promise.all([readFile(path), readNotes(name, dir)]);
  if (Object.keys(notes).length === 0) return bytes;
  const file = readCaptureFile(bytes);
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
      const path = capturePath(name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) return send(res, 404, `no capture named "${name}"`);
      const headers = {
        'content-type': 'application/x-pcapng',
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
      };
      const notes = await readNotes(name);
      if (Object.keys(notes).length === 0) {
        res.writeHead(200, { ...headers, 'content-length': String(st.size) });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(path)
          .on('error', () => res.destroy())
          .pipe(res);
        return;
      }
      const body = await annotatedExport(name);
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      if (e instanceof CaptureError) send(res, 400, e.message);
      else send(res, 500, `cannot export "${name}": ${e instanceof Error ? e.message : String(e)}`);
    }
  })();
  return true;
}
