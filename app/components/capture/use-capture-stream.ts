'use client';
// The open capture in this view: its info and rows, appended from batched `capture:packets` arrays,
// re-attached after a reconnect (it kept running, and saving, on the server) from the last row index
// applied, so every row shows once and in order; past what the server keeps, the rows are reloaded and
// the reconnect banner says how many were missed. Let go on unmount.
import { useCallback, useRef, useState, type RefObject } from 'react';
import { CaptureShown, type CaptureInfo, type PacketRow } from '../../../server/protocol/capture';
import { request } from '../../lib/request';
import { resumeStore } from '../../lib/resume';
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
  /** Index of the last row applied (-1: none). */
  const last = useRef(-1);
  /** A re-watch is in flight: its answer holds the rows up to it. */
  const resuming = useRef(false);

  const append = useCallback((rs: readonly PacketRow[]) => {
    const fresh = rs.filter((r) => r.index > last.current);
    if (fresh.length === 0) return;
    last.current = (fresh[fresh.length - 1] as PacketRow).index;
    setRows((xs) => {
      const next = xs.concat(fresh);
      return next.length > MAX_ROWS ? next.slice(next.length - MAX_ROWS) : next;
    });
  }, []);
  const replace = useCallback((rs: readonly PacketRow[]) => {
    last.current = rs.length ? (rs[rs.length - 1] as PacketRow).index : -1;
    setRows(rs);
  }, []);

  const socket = useSubscribe({
    on: {
      'capture:packets': (m) => {
        if (m.id !== current.current || resuming.current) return;
        append(m.rows);
        if (m.dropped) setUiDropped((d) => d + m.dropped);
      },
      'capture:status': (i) => {
        if (i.id !== current.current) return;
        setInfo(i);
        if (i.state === 'stopped' || i.state === 'failed') onEnded();
      },
    },
    subscribe: (s) => {
      const id = current.current;
      if (!id) return;
      resuming.current = true;
      void request(s, 'capture:watch', { id, after: last.current }, CaptureShown).then((r) => {
        if (current.current !== id) return;
        resuming.current = false;
        if (!r.ok) {
          if (r.msg?.key === 'err.capture.noCapture') resumeStore.note({ key: 'captureGone' });
          return;
        }
        setInfo(r.value.info);
        const missed = r.value.missed ?? 0;
        if (missed > 0) {
          resumeStore.note({ key: 'missedPackets', values: { n: missed } });
          replace(r.value.rows);
        } else append(r.value.rows);
      });
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
      resuming.current = false;
      setInfo(i);
      replace(rs);
      setUiDropped(0);
    },
    [socket, replace],
  );

  return { current, info, rows, uiDropped, setInfo, show };
}
