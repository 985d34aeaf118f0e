'use client';
// The open capture in this view: its info and rows, appended from batched `capture:packets` arrays,
// re-attached after a reconnect (it kept running, and saving, on the server), let go on unmount.
import { useCallback, useRef, useState, type RefObject } from 'react';
import { CaptureShown, type CaptureInfo, type PacketRow } from '../../../server/protocol/capture';
import { request } from '../../lib/request';
import { useSubscribe } from '../../lib/subscribe';

/** Rows kept in the browser; the server keeps more and the file keeps all. */
const MAX_ROWS = 5000;

export interface CaptureStream {
  /** The id of the capture shown, for requests about it. */
  readonly current: RefObject<string | undefined>;
  readonly info: CaptureInfo | undefined;
  readonly rows: readonly PacketRow[];
  readonly uiDropped: number;
  setInfo(i: CaptureInfo): void;
  /** Shows another capture (a new one, a file, a saved one), letting go of the one shown. */
  show(i: CaptureInfo, rows: readonly PacketRow[]): void;
}

/** `onEnded` runs when the shown capture stops or fails (its file is complete now). */
export function useCaptureStream(onEnded: () => void): CaptureStream {
  const [info, setInfo] = useState<CaptureInfo | undefined>();
  const [rows, setRows] = useState<readonly PacketRow[]>([]);
  const [uiDropped, setUiDropped] = useState(0);
  const current = useRef<string | undefined>(undefined);

  const socket = useSubscribe({
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
        if (i.state === 'stopped' || i.state === 'failed') onEnded();
      },
    },
    subscribe: (s) => {
      if (current.current)
        void request(s, 'capture:watch', { id: current.current }, CaptureShown).then(
          (r) => r.ok && (setInfo(r.value.info), setRows(r.value.rows)),
        );
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
    },
    [socket],
  );

  return { current, info, rows, uiDropped, setInfo, show };
}
