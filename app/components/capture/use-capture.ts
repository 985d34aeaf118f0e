'use client';
// The capture panel's socket wiring: one capture shown at a time in this view (others keep running on
// the server; use-capture-stream.ts follows the shown one), targets, saved files and requests.
import { useCallback, useState } from 'react';
import {
  CAPTURE_UPLOAD_MAX_BYTES,
  type CaptureInfo,
  type CaptureTarget,
  type PacketDetail,
  type PacketRow,
  type SavedCapture,
} from '../../../server/protocol/capture';
import type { Ack } from '../../../server/protocol/common';
import { useSocket, type PjClientSocket } from '../../lib/socket';
import { useSubscribe } from '../../lib/subscribe';
import { useCaptureStream } from './use-capture-stream';

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

/** A file as base64, in chunks (a spread of a whole file would overflow the call stack). */
async function fileBase64(file: File): Promise<string> {
  const buf = new Uint8Array(await file.arrayBuffer());
  let bin = '';
  for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Asks about the shown capture; none shown is an error answer, not a request. */
function askShown<T>(
  id: string | undefined,
  send: (id: string, resolve: (a: Ack<T>) => void) => void,
): Promise<Ack<T>> {
  return new Promise((resolve) => (id ? send(id, resolve) : resolve({ ok: false, error: 'no capture' })));
}

/** The capture targets and the saved files, read on every (re)connect; a failed read is shown as `error`. */
function useCaptureLists(socket: PjClientSocket, setError: (e: string) => void) {
  const [targets, setTargets] = useState<readonly CaptureTarget[]>([]);
  const [saved, setSaved] = useState<readonly SavedCapture[]>([]);
  const refreshTargets = useCallback(() => {
    socket.emit('capture:targets', {}, (r) => (r.ok ? setTargets(r.value) : setError(r.error)));
  }, [socket, setError]);
  const refreshSaved = useCallback(() => {
    socket.emit('capture:list', {}, (r) => r.ok && setSaved(r.value.saved));
  }, [socket]);
  useSubscribe({
    subscribe: () => {
      refreshTargets();
      refreshSaved();
    },
  });
  return { targets, saved, refreshTargets, refreshSaved };
}

export function useCapture(): CaptureView {
  const { socket } = useSocket();
  const [error, setError] = useState<string | undefined>();
  const { targets, saved, refreshTargets, refreshSaved } = useCaptureLists(socket, setError);
  const stream = useCaptureStream(refreshSaved);
  const { current, setInfo, show: showStream } = stream;
  const show = useCallback(
    (...a: Parameters<typeof showStream>) => {
      showStream(...a);
      setError(undefined);
    },
    [showStream],
  );

  const requests = {
    checkFilter: (netns: string, iface: string, filter: string) =>
      new Promise<Ack<{ bytecode: string }>>((resolve) =>
        socket.emit('capture:filter-check', { netns, iface, filter }, resolve),
      ),
    start: (netns: string, iface: string, filter: string) =>
      new Promise<void>((resolve) => {
        socket.emit('capture:start', { netns, iface, filter, save: true }, (r) => {
          if (r.ok) show(r.value, []);
          else setError(r.error);
          resolve();
        });
      }),
    stop: () => {
      if (current.current)
        socket.emit('capture:stop', { id: current.current }, (r) => (r.ok ? setInfo(r.value) : setError(r.error)));
    },
    upload: async (file: File) => {
      // Refuse here what the server would refuse, before reading and sending megabytes for nothing.
      if (file.size > CAPTURE_UPLOAD_MAX_BYTES)
        return setError(
          `${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${CAPTURE_UPLOAD_MAX_BYTES / 1048576} MB`,
        );
      socket.emit('capture:decode-file', { name: file.name, base64: await fileBase64(file) }, (r) => {
        if (!r.ok) return setError(r.error);
        show(r.value.info, r.value.rows);
        refreshSaved();
      });
    },
    open: (name: string) =>
      socket.emit('capture:open', { name }, (r) => (r.ok ? show(r.value.info, r.value.rows) : setError(r.error))),
    remove: (name: string) =>
      socket.emit('capture:delete', { name }, (r) => (r.ok ? refreshSaved() : setError(r.error))),
    detail: (index: number) =>
      askShown<PacketDetail>(current.current, (id, res) => socket.emit('capture:packet', { id, index }, res)),
    note: (index: number, text: string) =>
      askShown<null>(current.current, (id, res) => socket.emit('capture:note', { id, index, text }, res)),
  };
  // The filter check runs from an effect keyed on it: keep its identity across renders.
  const checkFilter = useCallback(requests.checkFilter, [socket]);

  return {
    targets,
    info: stream.info,
    rows: stream.rows,
    saved,
    error,
    uiDropped: stream.uiDropped,
    setError,
    refreshTargets,
    refreshSaved,
    ...requests,
    checkFilter,
  };
}
