// The loader's supervision against the real probe (root, `make -C probes`): it runs while someone
// follows and stops `idleMs` after the last one, and a follow that never got a slot holds nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ProbeLoader } from './loader';

const IDLE_MS = 300;
const alive = (pid: number): boolean => spawnSync('kill', ['-0', String(pid)]).status === 0;

describe('probe loader idle stop', () => {
  const loader = new ProbeLoader(undefined, IDLE_MS);

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
  });
  afterAll(() => loader.stop());

  it('stops idleMs after the last follower, not while one is left or one comes back in time', async () => {
    const a = await loader.subscribe({ proto: 1 }, () => undefined);
    const b = await loader.subscribe({ proto: 6 }, () => undefined);
    const pid = loader.pid as number;
    await a.close();
    await new Promise((r) => setTimeout(r, IDLE_MS * 2));
    expect(loader.status.state).toBe('ready');
    await b.close();
    await new Promise((r) => setTimeout(r, IDLE_MS / 3));
    const c = await loader.subscribe({ proto: 17 }, () => undefined);
    await new Promise((r) => setTimeout(r, IDLE_MS * 2));
    expect(loader.pid).toBe(pid);
    await c.close();
    await expect.poll(() => loader.status.state, { timeout: 3000 }).toBe('stopped');
    await expect.poll(() => alive(pid), { timeout: 3000 }).toBe(false);
  });

  it('a subscribe with a bad filter starts nothing', async () => {
    // Compiled before any slot is claimed or any loader started (issue 14: "nothing starts").
    await expect(loader.subscribe({ addrA: 'not-an-address' }, () => undefined)).rejects.toThrow(/not an IPv4/);
    await expect(loader.subscribe({ expr: 'tcp port' }, () => undefined)).rejects.toThrow(/^bad filter: /);
    expect(loader.pid).toBeUndefined();
    expect(loader.status.state).toBe('stopped');
  });
});

describe('probe loader dispatch', () => {
  const NS = 'pjt-dispatch';
  const loader = new ProbeLoader(undefined, 0);

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
    spawnSync('ip', ['netns', 'del', NS]);
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  });
  afterAll(async () => {
    await loader.stop();
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('a subscriber that throws is logged once, and every subscriber still gets every hop', async () => {
    const filter = { proto: 1, netns: [statSync(`/var/run/netns/${NS}`).ino] };
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    let thrown = 0;
    let got = 0;
    const bad = await loader.subscribe(filter, () => {
      thrown++;
      throw new Error('subscriber bug');
    });
    const good = await loader.subscribe(filter, () => got++);
    try {
      execFileSync('ip', ['netns', 'exec', NS, 'ping', '-n', '-q', '-c3', '-i', '0.05', '127.0.0.1']);
      await loader.sync();
      expect(got).toBeGreaterThanOrEqual(6);
      // The thrower kept getting them too, and was logged once.
      expect(thrown).toBe(got);
      expect(errors.mock.calls.filter((c) => String(c[0]).includes('subscriber threw'))).toHaveLength(1);
      expect(loader.status.state).toBe('ready');
    } finally {
      errors.mockRestore();
      await bad.close();
      await good.close();
    }
  });
});

describe('a loader started with --no-flows (a CLI follow)', () => {
  const loader = new ProbeLoader(undefined, 0, ['--no-flows']);
  afterAll(() => loader.stop());

  it('refuses the flow view in one line and still follows', async () => {
    await loader.ensureStarted();
    await expect(
      loader.startFlows(
        { samplePerSec: 0, journeys: false },
        () => undefined,
        () => undefined,
      ),
    ).rejects.toThrow(/^probe flows: this loader was started with --no-flows$/);
    let got = 0;
    const s = await loader.subscribe({ proto: 1, addrA: '127.0.0.1' }, () => got++);
    try {
      execFileSync('ping', ['-n', '-q', '-c2', '-i', '0.05', '127.0.0.1']);
      await loader.sync();
      expect(got).toBeGreaterThanOrEqual(4);
    } finally {
      await s.close();
    }
  });
});
