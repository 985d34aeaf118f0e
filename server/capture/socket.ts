// socket.io handlers for captures. Every request is parsed with zod; rows reach the browser batched
// (one emit per 50 ms per capture). Watches and uploads belong to the page's session (gateway/session.ts):
// a socket that drops keeps them through the resume grace (an unsaved capture keeps running), the socket
// that takes the session back re-watches from the last row index it had, and the session's end ends
// them, so unsaved captures stop and uploads leave memory.
import { msg } from '../protocol/i18n/msg';
import { z } from 'zod';
import { createBatcher } from '../gateway/batcher';
import { handle } from '../gateway/handle';
import { sessionOf, type PjSession } from '../gateway/sessions';
import type { Attach, PjSocket } from '../gateway/types';
import {
  CAPTURE_UPLOAD_MAX_BYTES,
  CaptureDecodeFileReq,
  CaptureFilterCheckReq,
  CaptureIdReq,
  CaptureNameReq,
  CaptureNoteReq,
  CapturePacketReq,
  CaptureStartReq,
  CaptureWatchReq,
  type CaptureInfo,
  type PacketRow,
} from '../protocol/capture';
import { serverBus } from '../sys/bus';
import { annotateJourney } from './hop-annotate';
import { captureManager, type Capture } from './manager';
import { deleteSaved, listSaved } from './store';
import { CaptureError, checkFilter, listTargets, resolveTarget } from './targets';

/** Requests without arguments accept `{}`, `undefined` or anything else, and ignore it. */
const NoArgs = z.unknown();

type Subscribe = (
  socket: PjSocket,
  c: Capture,
  after?: number,
) => { info: CaptureInfo; rows: readonly PacketRow[]; missed?: number };
type Watches = { subscribe: Subscribe; unwatch: (id: string) => void; all: () => void };

/**
 * A session's watches of captures: rows batched to the socket that watched (a resumed socket watches
 * again, from where it was), all of them ended with the session.
 */
function sessionWatches(session: PjSession): Watches {
  return session.slot('capture', () => {
    const w = makeWatches(session);
    session.onEnd(() => {
      w.all();
      // An upload belongs to the session that sent it.
      captureManager.release(session.id);
    });
    return w;
  });
}

function makeWatches(session: PjSession): Watches {
  const watches = new Map<string, (flush?: boolean) => void>();
  const subscribe: Subscribe = (socket, c, after) => {
    // Watched again (a resume): the new watch is taken before the old one lets go, so an unsaved
    // capture never sees zero watchers in between.
    const previous = watches.get(c.id);
    const batcher = createBatcher<PacketRow>(
      (rows, dropped) => {
        c.uiDropped += dropped;
        socket.emit('capture:packets', { id: c.id, rows, dropped });
      },
      { intervalMs: 50, maxPending: 5000 },
    );
    const w = c.watch(
      {
        rows: (rows) => {
          for (const r of rows) batcher.push(r);
        },
        status: (info) => {
          batcher.flush();
          socket.emit('capture:status', info);
        },
      },
      after,
    );
    // The old watch's pending rows are in the answer's (they come from the same frames): dropped unsent.
    previous?.(false);
    const end = (flush = true): void => {
      if (flush) batcher.flush();
      batcher.stop();
      w.unwatch();
      if (watches.get(c.id) === end) watches.delete(c.id);
    };
    watches.set(c.id, end);
    // A request that finished after its session ended: the end has already ended its watches.
    if (session.ended) end();
    return { info: c.info(), rows: w.rows, ...(w.missed !== undefined && { missed: w.missed }) };
  };
  return {
    subscribe,
    unwatch: (id) => watches.get(id)?.(),
    all: () => {
      for (const unwatch of [...watches.values()]) unwatch();
    },
  };
}

const need = (id: string): Capture => {
  const c = captureManager.get(id);
  if (!c) throw new CaptureError(msg('err.capture.noCapture', { id }));
  return c;
};

/** Live captures: targets, filter check, start/stop, watching, one packet's detail and its note. */
function onLiveCaptures(socket: PjSocket, session: PjSession, w: Watches): void {
  socket.on(
    'capture:targets',
    handle(NoArgs, async () => listTargets()),
  );
  socket.on(
    'capture:filter-check',
    handle(CaptureFilterCheckReq, async (r) => {
      const t = await resolveTarget(r.netns, r.iface ?? 'lo');
      return { filter: r.filter, bytecode: await checkFilter(t, r.filter) };
    }),
  );
  socket.on(
    'capture:start',
    handle(CaptureStartReq, async (r) => {
      const c = await captureManager.start({ ...r, owner: session.id });
      w.subscribe(socket, c);
      return c.info();
    }),
  );
  socket.on(
    'capture:stop',
    handle(CaptureIdReq, async (r) => {
      const c = need(r.id);
      c.stop();
      await c.done;
      return c.info();
    }),
  );
  socket.on(
    'capture:watch',
    handle(CaptureWatchReq, async (r) => w.subscribe(socket, need(r.id), r.after)),
  );
  socket.on(
    'capture:unwatch',
    handle(CaptureIdReq, async (r) => {
      w.unwatch(r.id);
      return null;
    }),
  );
  socket.on(
    'capture:packet',
    handle(CapturePacketReq, async (r) => {
      const d = need(r.id).detail(r.index);
      if (!d) throw new CaptureError(msg('err.capture.packetGone', { index: r.index }));
      return d;
    }),
  );
  socket.on(
    'capture:note',
    handle(CaptureNoteReq, async (r) => {
      await need(r.id).setNote(r.index, r.text);
      return null;
    }),
  );
}

/** Saved captures and uploads: list, delete, decode an uploaded file, open a saved one. */
function onFiles(socket: PjSocket, session: PjSession, w: Watches): void {
  socket.on(
    'capture:list',
    handle(NoArgs, async () => ({ live: captureManager.list().map((c) => c.info()), saved: await listSaved() })),
  );
  socket.on(
    'capture:delete',
    handle(CaptureNameReq, async (r) => {
      const busy = captureManager.list().find((c) => c.fileName === r.name && c.live);
      if (busy) throw new CaptureError(msg('err.capture.busy', { name: r.name }));
      await deleteSaved(r.name);
      return null;
    }),
  );
  socket.on(
    'capture:decode-file',
    handle(CaptureDecodeFileReq, async (r) => {
      const approx = Math.floor((r.base64.length * 3) / 4);
      if (approx > CAPTURE_UPLOAD_MAX_BYTES) {
        const mb = (approx / 1048576).toFixed(1);
        throw new CaptureError(msg('err.capture.uploadSize', { mb, max: CAPTURE_UPLOAD_MAX_BYTES / 1048576 }));
      }
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(r.base64)) throw new CaptureError(msg('err.capture.notBase64'));
      const label = r.name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'upload';
      const c = await captureManager.upload(Buffer.from(r.base64, 'base64'), label, session.id);
      const shown = w.subscribe(socket, c);
      // It finished after its session ended: the end could not drop it yet.
      if (session.ended) captureManager.release(session.id);
      return shown;
    }),
  );
  socket.on(
    'capture:open',
    handle(CaptureNameReq, async (r) => {
      const shown = w.subscribe(socket, await captureManager.open(r.name, session.id));
      // Opened after its session ended: the end could not drop it yet.
      if (session.ended) captureManager.release(session.id);
      return shown;
    }),
  );
}

function connect(socket: PjSocket): void {
  const session = sessionOf(socket);
  const w = sessionWatches(session);
  onLiveCaptures(socket, session, w);
  onFiles(socket, session, w);
}

export const attach: Attach = (io) => {
  io.on('connection', connect);
  const offJourneys = serverBus.on(
    'tracer:journey',
    (j) => void annotateJourney(captureManager, j).catch(() => undefined),
  );
  return () => {
    offJourneys();
    io.off('connection', connect);
    void captureManager.stopAll();
  };
};
