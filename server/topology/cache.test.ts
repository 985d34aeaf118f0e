// The discovery cache and the watch poller on a fake discovery: no iproute2, no processes.
import { describe, expect, it } from 'vitest';
import type { Namespace, Topology } from '../protocol/topology';
import { createTopologyCache, type Discover } from './cache';
import type { Discovery, NsEntry } from './discover';

const ns = (name: string, inode: number): Namespace => ({
  name,
  inode,
  kind: 'netns',
  interfaces: [],
  neighbors: [],
  routes: [],
});

/** A discovery that returns whatever `world` holds now, and counts its calls. */
function fakeDiscover(world: { namespaces: Namespace[] }, delayMs = 0): Discover & { calls: number } {
  const f = async (): Promise<Discovery> => {
    f.calls++;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const topology: Topology = {
      namespaces: [...world.namespaces],
      warnings: [],
      discoveredAt: Date.now(),
      durationMs: 0,
    };
    const targets = new Map<string, NsEntry>(
      world.namespaces.map((n) => [
        n.name,
        { name: n.name, inode: n.inode, source: 'process', target: { kind: 'pid', pid: n.inode } },
      ]),
    );
    return { topology, targets, phasesMs: { enumerate: 0, collect: 0, listIds: 0, build: 0, programs: 0 } };
  };
  f.calls = 0;
  return f;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('topology cache', () => {
  it('shares one discovery between concurrent callers', async () => {
    const d = fakeDiscover({ namespaces: [ns('a', 1)] }, 20);
    const c = createTopologyCache(d);
    const [x, y] = await Promise.all([c.discoverTopology(), c.getDiscovery()]);
    expect(d.calls).toBe(1);
    expect(x).toBe(y.topology);
  });

  it('names inodes from the cache, and re-discovers an unknown one at most once a second', async () => {
    const world = { namespaces: [ns('a', 1)] };
    const d = fakeDiscover(world);
    const c = createTopologyCache(d);
    expect(c.nameForInodeCached(1)).toBeUndefined(); // nothing discovered yet
    expect(await c.nameForInode(1)).toBe('a');
    expect(c.nameForInodeCached(1)).toBe('a');
    world.namespaces.push(ns('b', 2));
    expect(await c.nameForInode(2)).toBeUndefined(); // the last discovery is younger than 1 s
    expect(d.calls).toBe(1);
  });

  it('looks a name up, refreshing once when it is not in the cache', async () => {
    const world = { namespaces: [ns('a', 1)] };
    const d = fakeDiscover(world);
    const c = createTopologyCache(d);
    expect((await c.lookupNamespace('a'))?.entry.target).toEqual({ kind: 'pid', pid: 1 });
    await sleep(60);
    world.namespaces.push(ns('late', 9));
    expect((await c.lookupNamespace('late'))?.ns.inode).toBe(9);
    expect(d.calls).toBe(2);
    expect(await c.lookupNamespace('nope')).toBeUndefined();
  });
});

describe('watchTopology', () => {
  it('discovers only while watched, reports changes once each, and stops with the last watcher', async () => {
    const world = { namespaces: [ns('a', 1)] };
    const d = fakeDiscover(world);
    const c = createTopologyCache(d, { pollMs: 10 });
    await sleep(80);
    expect(d.calls).toBe(0); // nobody watches: no discovery at all

    const seen: string[][] = [];
    const other: Topology[] = [];
    const stop = c.watchTopology((t) => seen.push(t.namespaces.map((n) => n.name)));
    const stop2 = c.watchTopology((t) => other.push(t));
    await sleep(120);
    expect(seen).toEqual([['a']]); // polled several times, reported once
    world.namespaces.push(ns('b', 2));
    await sleep(120);
    expect(seen).toEqual([['a'], ['a', 'b']]);
    expect(other.length).toBeGreaterThanOrEqual(1);

    stop();
    const whileOne = d.calls;
    await sleep(120);
    expect(d.calls).toBeGreaterThan(whileOne); // one watcher left: still polling
    stop2();
    stop2(); // twice is harmless
    await sleep(60);
    const after = d.calls;
    await sleep(120);
    expect(d.calls).toBe(after);
  });

  it('gives a new watcher the cached topology at once, and the next poll even when nothing changed', async () => {
    const d = fakeDiscover({ namespaces: [ns('a', 1)] });
    const c = createTopologyCache(d, { pollMs: 10 });
    await c.discoverTopology();
    const first: number[] = [];
    c.watchTopology((t) => first.push(t.namespaces.length))();
    expect(first).toEqual([1]); // from the cache, synchronously
    await sleep(60);
    const again: number[] = [];
    const stop = c.watchTopology((t) => again.push(t.namespaces.length));
    await sleep(80);
    stop();
    expect(again).toEqual([1, 1]); // cache, then the first poll after a quiet spell
  });
});
