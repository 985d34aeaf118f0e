// What the replay tests and bench build recordings from: a header, and a lab status with nothing in it.
import type { LabStatus } from '../protocol/lab';
import type { RecordingHeader } from '../protocol/replay';

export const testHeader = (host = 'test', writer = 'test'): RecordingHeader => ({
  format: 'packet-journey-recording',
  version: 1,
  createdAt: '2026-12-01T18:00:00.000Z',
  host,
  writer,
});

/** A lab status with no namespaces, services or programs; `up` picks the basic scenario. */
export const emptyLab = (up: boolean): LabStatus => ({
  up,
  partial: false,
  scenario: up ? 'basic' : null,
  settings: {},
  namespaces: [],
  services: [],
  echoServers: [],
  programs: [],
  blocklist: [],
  catalog: [],
});
