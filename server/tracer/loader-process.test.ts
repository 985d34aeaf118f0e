// The loader's supervision against the real probe (root, `make -C probes`): it runs while someone
// follows and stops `idleMs` after the last one, and a follow that never got a slot holds nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('a subscribe that fails does not keep the loader running', async () => {
    await expect(loader.subscribe({ addrA: 'not-an-address' }, () => undefined)).rejects.toThrow(/not an IPv4/);
    const pid = loader.pid as number;
    expect(pid).toBeDefined();
    await expect.poll(() => loader.status.state, { timeout: 3000 }).toBe('stopped');
    expect(alive(pid)).toBe(false);
  });
});
