// data-testid values shared by the record/replay components and e2e/replay.spec.ts.
export const replayIds = {
  /** Live server: the instructor's record button (`data-recording`) and the saved file's line. */
  record: 'replay-record',
  recordStatus: 'replay-record-status',
  saved: 'replay-saved',
  /** Replay server: the strip under the header, its banner, controls and position. */
  strip: 'replay-strip',
  banner: 'replay-banner',
  play: 'replay-play',
  prev: 'replay-prev',
  next: 'replay-next',
  first: 'replay-first',
  last: 'replay-last',
  position: 'replay-position',
  time: 'replay-time',
  error: 'replay-error',
  /** Following the recording or exploring alone (without tokens; with them, the classroom bar's). */
  follow: 'replay-follow',
  detach: 'replay-detach',
  attach: 'replay-attach',
} as const;
