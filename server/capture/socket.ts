// socket.io handlers for captures. Every request is parsed with zod; rows reach the browser batched
// (one emit per 50 ms per capture); a socket's watches end with it, so unsaved captures stop, and its
// uploads leave memory.
import { msg } from '../protocol/i18n/msg';
import { z } from 'zod';
import { createBatcher } from '../gateway/batcher';
import { handle } from '../gateway/handle';
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

type Subscribe = (c: Capture) => { info: CaptureInfo; rows: readonly PacketRow[] };

/** A socket's watches of captures: rows batched to it, all of them ended when it goes. */
function socketWatches(socket: PjSocket): { subscribe: Subscribe; unwatch: (id: string) => void; all: () => void } {
  const watches = new Map<string, () => void>();
  const subscribe: Subscribe = (c) => {
    watches.get(c.id)?.();
    const batcher = createBatcher<PacketRow>(
      (rows, dropped) => {
        c.uiDropped += dropped;
        socket.emit('capture:packets', { id: c.id, rows, dropped });
      },
      { intervalMs: 50, maxPending: 5000 },
    );
    const w = c.watch({
      rows: (rows) => {
        for (const r of rows) batcher.push(r);
      },
      status: (info) => {
        batcher.flush();
        socket.emit('capture:status', info);
      },
    });
    watches.set(c.id, () => {
      batcher.flush();
      batcher.stop();
      w.unwatch();
      watches.delete(c.id);
    });
    // A request that finished after its socket left: the disconnect has already ended its watches.
    if (socket.disconnected) watches.get(c.id)?.();
    return { info: c.info(), rows: w.rows };
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
  if (!c) throw new CaptureError(`no capture with id ${id}`);
  return c;
};

/** Live captures: targets, filter check, start/stop, watching, one packet's detail and its note. */
function onLiveCaptures(socket: PjSocket, w: ReturnType<typeof socketWatches>): void {
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
      const c = await captureManager.start({ ...r, owner: socket.id });
      w.subscribe(c);
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
    handle(CaptureIdReq, async (r) => w.subscribe(need(r.id))),
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
function onFiles(socket: PjSocket, w: ReturnType<typeof socketWatches>): void {
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
      const c = await captureManager.upload(Buffer.from(r.base64, 'base64'), label, socket.id);
      const shown = w.subscribe(c);
      // It finished after its socket left: the disconnect could not drop it yet.
      if (socket.disconnected) captureManager.release(socket.id);
      return shown;
    }),
  );
  socket.on(
    'capture:open',
    handle(CaptureNameReq, async (r) => {
      const shown = w.subscribe(await captureManager.open(r.name, socket.id));
      // Opened after its socket left: the disconnect could not drop it yet.
      if (socket.disconnected) captureManager.release(socket.id);
      return shown;
    }),
  );
}

function connect(socket: PjSocket): void {
  const w = socketWatches(socket);
  onLiveCaptures(socket, w);
  onFiles(socket, w);
  socket.on('disconnect', () => {
    w.all();
    // An upload belongs to the socket that sent it.
    captureManager.release(socket.id);
  });
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
