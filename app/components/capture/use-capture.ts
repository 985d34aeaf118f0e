'use client';
// The capture panel's socket wiring: one capture shown at a time in this view (others keep running on
// the server; use-capture-stream.ts follows the shown one), targets, saved files and requests.
import { msg } from '../../../server/protocol/i18n/msg';
import { say } from '../../i18n/current';
import { useCallback, useState } from 'react';
import { z } from 'zod';
import {
  CAPTURE_UPLOAD_MAX_BYTES,
  CaptureInfo,
  CaptureList,
  CaptureShown,
  CaptureTarget,
  FilterCheck,
  PacketDetail,
  type PacketRow,
  type SavedCapture,
} from '../../../server/protocol/capture';
import type { Ack } from '../../../server/protocol/common';
import { request } from '../../lib/request';
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
function askShown<T>(id: string | undefined, send: (id: string) => Promise<Ack<T>>): Promise<Ack<T>> {
  return id ? send(id) : Promise.resolve({ ok: false, error: say(msg('err.capture.noneShown')) });
}

/** Decoding a big upload (or a saved file) takes a while on a busy server. */
const LOAD_TIMEOUT_MS = 60_000;

/** The capture targets and the saved files, read on every (re)connect; a failed read is shown as `error`. */
function useCaptureLists(socket: PjClientSocket, setError: (e: string) => void) {
  const [targets, setTargets] = useState<readonly CaptureTarget[]>([]);
  const [saved, setSaved] = useState<readonly SavedCapture[]>([]);
  const refreshTargets = useCallback(() => {
    void request(socket, 'capture:targets', {}, z.array(CaptureTarget)).then((r) =>
      r.ok ? setTargets(r.value) : setError(r.error),
    );
  }, [socket, setError]);
  const refreshSaved = useCallback(() => {
    void request(socket, 'capture:list', {}, CaptureList).then((r) => r.ok && setSaved(r.value.saved));
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
    checkFilter: (netns: string, iface: string, filter: string): Promise<Ack<{ bytecode: string }>> =>
      request(socket, 'capture:filter-check', { netns, iface, filter }, FilterCheck),
    start: async (netns: string, iface: string, filter: string) => {
      const r = await request(socket, 'capture:start', { netns, iface, filter, save: true }, CaptureInfo);
      if (r.ok) show(r.value, []);
      else setError(r.error);
    },
    stop: () => {
      if (current.current)
        void request(socket, 'capture:stop', { id: current.current }, CaptureInfo).then((r) =>
          r.ok ? setInfo(r.value) : setError(r.error),
        );
    },
    upload: async (file: File) => {
      // Refuse here what the server would refuse, before reading and sending megabytes for nothing.
      if (file.size > CAPTURE_UPLOAD_MAX_BYTES)
        return setError(
          say(
            msg('err.capture.fileSize', {
              name: file.name,
              mb: (file.size / 1048576).toFixed(1),
              max: CAPTURE_UPLOAD_MAX_BYTES / 1048576,
            }),
          ),
        );
      const req = { name: file.name, base64: await fileBase64(file) };
      const r = await request(socket, 'capture:decode-file', req, CaptureShown, { timeoutMs: LOAD_TIMEOUT_MS });
      if (!r.ok) return setError(r.error);
      show(r.value.info, r.value.rows);
      refreshSaved();
    },
    open: (name: string) =>
      void request(socket, 'capture:open', { name }, CaptureShown, { timeoutMs: LOAD_TIMEOUT_MS }).then((r) =>
        r.ok ? show(r.value.info, r.value.rows) : setError(r.error),
      ),
    remove: (name: string) =>
      void request(socket, 'capture:delete', { name }, z.null()).then((r) =>
        r.ok ? refreshSaved() : setError(r.error),
      ),
    detail: (index: number) =>
      askShown(current.current, (id) => request(socket, 'capture:packet', { id, index }, PacketDetail)),
    note: (index: number, text: string) =>
      askShown(current.current, (id) => request(socket, 'capture:note', { id, index, text }, z.null())),
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
