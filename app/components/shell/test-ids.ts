export const shellIds = {
  connection: 'connection-state',
  tab: (name: string) => `tab-${name}`,
  /** The reconnect banner; `data-phase` is reconnecting or resumed. */
  resume: 'resume-banner',
  resumeNote: 'resume-note',
} as const;
