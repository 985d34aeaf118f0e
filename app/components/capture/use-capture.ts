'use client';
// The capture panel's socket wiring: one active capture at a time in this view (others keep running on
// the server), rows appended from batched `capture:packets` arrays.
import { useCallback, useRef, useState } from 'react';
import {
  CAPTURE_UPLOAD_MAX_BYTES,
  type CaptureInfo,
  type CaptureTarget,
  type PacketDetail,
  type PacketRow,
  type SavedCapture,
} from '../../../server/protocol/capture';
import type { Ack } from '../../../server/protocol/common';
import { useSocket } from '../../lib/socket';
import { useSubscribe } from '../../lib/subscribe';

/** Rows kept in the browser; the server keeps more and the file keeps all. */
const MAX_ROWS = 5000;

export interface CaptureView {
  readonly targets: readonly CaptureTarget[];
  readonly info: CaptureInfo | undefined;
  readonly rows: readonly PacketRow[];
  readonly saved: readonly SavedCapture[];
  readonly error: string | undefined;
  readonly uiDropped: number;
  setError(e: string | undefined): void;
  refreshTargets(): void;
  refreshSaved(): void;
  checkFilter(netns: string, iface: string, filter: string): Promise<Ack<{ bytecode: string }>>;
  start(netns: string, iface: string, filter: string): Promise<void>;
  stop(): void;
  upload(file: File): Promise<void>;
  open(name: string): void;
  remove(name: string): void;
  detail(index: number): Promise<Ack<PacketDetail>>;
  note(index: number, text: string): Promise<Ack<null>>;
}

export function useCapture(): CaptureView {
  const { socket } = useSocket();
  const [targets, setTargets] = useState<readonly CaptureTarget[]>([]);
  const [info, setInfo] = useState<CaptureInfo | undefined>();
  const [rows, setRows] = useState<readonly PacketRow[]>([]);
  const [saved, setSaved] = useState<readonly SavedCapture[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [uiDropped, setUiDropped] = useState(0);
  const current = useRef<string | undefined>(undefined);

  const refreshTargets = useCallback(() => {
    socket.emit('capture:targets', {}, (r) => (r.ok ? setTargets(r.value) : setError(r.error)));
  }, [socket]);
  const refreshSaved = useCallback(() => {
    socket.emit('capture:list', {}, (r) => r.ok && setSaved(r.value.saved));
  }, [socket]);

  useSubscribe({
    on: {
      'capture:packets': (m) => {
        if (m.id !== current.current) return;
        setRows((xs) => {
          const next = xs.concat(m.rows);
          return next.length > MAX_ROWS ? next.slice(next.length - MAX_ROWS) : next;
        });
        if (m.dropped) setUiDropped((d) => d + m.dropped);
      },
      'capture:status': (i) => {
        if (i.id !== current.current) return;
        setInfo(i);
        if (i.state === 'stopped' || i.state === 'failed') refreshSaved();
      },
    },
    subscribe: (s) => {
      refreshTargets();
      refreshSaved();
      // Re-attach after a reconnect: the capture kept running (and saving) on the server.
      if (current.current)
        s.emit('capture:watch', { id: current.current }, (r) => r.ok && (setInfo(r.value.info), setRows(r.value.rows)));
    },
    unsubscribe: (s) => {
      if (current.current) s.emit('capture:unwatch', { id: current.current }, () => undefined);
    },
  });

  const show = useCallback(
    (i: CaptureInfo, rs: readonly PacketRow[]) => {
      if (current.current && current.current !== i.id)
        socket.emit('capture:unwatch', { id: current.current }, () => undefined);
      current.current = i.id;
      setInfo(i);
      setRows(rs);
      setUiDropped(0);
      setError(undefined);
    },
    [socket],
  );

  const checkFilter = useCallback(
    (netns: string, iface: string, filter: string) =>
      new Promise<Ack<{ bytecode: string }>>((resolve) =>
        socket.emit('capture:filter-check', { netns, iface, filter }, resolve),
      ),
    [socket],
  );

  const start = useCallback(
    (netns: string, iface: string, filter: string) =>
      new Promise<void>((resolve) => {
        socket.emit('capture:start', { netns, iface, filter, save: true }, (r) => {
          if (r.ok) show(r.value, []);
          else setError(r.error);
          resolve();
        });
      }),
    [socket, show],
  );

  const stop = useCallback(() => {
    if (current.current)
      socket.emit('capture:stop', { id: current.current }, (r) => (r.ok ? setInfo(r.value) : setError(r.error)));
  }, [socket]);

  const upload = useCallback(
    async (file: File) => {
      // Refuse here what the server would refuse, before reading and sending megabytes for nothing.
      if (file.size > CAPTURE_UPLOAD_MAX_BYTES) {
        setError(
          `${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${CAPTURE_UPLOAD_MAX_BYTES / 1048576} MB`,
        );
        return;
      }
      const buf = new Uint8Array(await file.arrayBuffer());
      let bin = '';
      for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      socket.emit('capture:decode-file', { name: file.name, base64: btoa(bin) }, (r) => {
        if (r.ok) {
          show(r.value.info, r.value.rows);
          refreshSaved();
        } else setError(r.error);
      });
    },
    [socket, show, refreshSaved],
  );

  const open = useCallback(
    (name: string) =>
      socket.emit('capture:open', { name }, (r) => (r.ok ? show(r.value.info, r.value.rows) : setError(r.error))),
    [socket, show],
  );
  const remove = useCallback(
    (name: string) => socket.emit('capture:delete', { name }, (r) => (r.ok ? refreshSaved() : setError(r.error))),
    [socket, refreshSaved],
  );
  const detail = useCallback(
    (index: number) =>
      new Promise<Ack<PacketDetail>>((resolve) => {
        if (!current.current) return resolve({ ok: false, error: 'no capture' });
        socket.emit('capture:packet', { id: current.current, index }, resolve);
      }),
    [socket],
  );
  const note = useCallback(
    (index: number, text: string) =>
      new Promise<Ack<null>>((resolve) => {
        if (!current.current) return resolve({ ok: false, error: 'no capture' });
        socket.emit('capture:note', { id: current.current, index, text }, resolve);
      }),
    [socket],
  );

  return {
    targets,
    info,
    rows,
    saved,
    error,
    uiDropped,
    setError,
    refreshTargets,
    refreshSaved,
    checkFilter,
    start,
    stop,
    upload,
    open,
    remove,
    detail,
    note,
  };
}
