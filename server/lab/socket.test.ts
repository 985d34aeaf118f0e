// The Lab tab's requests through the real gateway: scenario choice, settings and teaching programs refuse
// bad input with one line and leave the lab as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/server';
import { ask } from '../../test/socket';
import type { LabProgram, LabStatus } from '../protocol/lab';
import { labDown, labStatus, labUp } from './lab';
import { readState } from './state';

let srv: TestServer;
beforeAll(async () => {
  await labUp({ scenario: 'basic' });
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
  await labDown();
});

describe('lab over socket.io', () => {
  it('lists every scenario with a description for students', async () => {
    const s = await labStatus();
    expect(s.catalog.map((c) => c.name)).toEqual(['basic', 'dsr', 'etp-local', 'sock-lb', 'ebpf-routing']);
    for (const c of s.catalog) expect(c.description.length, c.name).toBeGreaterThan(40);
  });

  it('refuses an unknown scenario in one line, and the lab stays as it was', async () => {
    const before = await readState();
    const r = await ask<LabStatus>(srv.client, 'lab:run', { action: 'up', scenario: 'cilium-everything' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/scenario/);
      expect(r.error).not.toContain('\n');
    }
    expect(await readState()).toEqual(before);
  });

  it('refuses a setting the scenario does not offer, naming what it offers', async () => {
    const before = await readState();
    const r = await ask<LabStatus>(srv.client, 'lab:run', { action: 'set', name: 'etp', value: 'Local' });
    expect(r).toMatchObject({ ok: false, error: 'scenario basic has no setting "etp"; it offers none' });
    expect(await readState()).toEqual(before);
  });

  it('refuses a teaching program that does not exist', async () => {
    const r = await ask<LabProgram[]>(srv.client, 'lab:prog', {
      action: 'attach',
      program: 'rm-rf',
      netns: 'pod-a',
      iface: 'eth0',
      hook: 'xdp',
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/^program: /);
    expect((await readState())?.programs).toEqual([]);
  });
});
