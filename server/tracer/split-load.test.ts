// The loader verifies its programs on two threads (probes/split-load.h): the skeleton's object creates
// the maps and two more opens of the object load half the programs each against them. Against the real
// kernel (root, `make -C probes`): what the loader holds is read from its fds (/proc/PID/fdinfo names the
// BPF object behind each), so a half that made maps of its own, or a program loaded twice or not at all,
// shows. And a loader stopped before it is ready is killed, not left to finish verifying.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProbeLoader } from './loader';

const ProgInfo = z.object({ id: z.number(), name: z.string(), map_ids: z.array(z.number()).optional() });
const MapInfo = z.object({ id: z.number(), name: z.string() });

/** The BPF programs and maps a process holds an fd of (links hold their program's id too). */
function held(pid: number): { progs: Map<number, string>; maps: Map<number, string> } {
  const progIds = new Set<number>();
  const mapIds = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const prog = /^prog_id:\s*(\d+)$/m.exec(info)?.[1];
    const map = /^map_id:\s*(\d+)$/m.exec(info)?.[1];
    if (prog) progIds.add(Number(prog));
    if (map) mapIds.add(Number(map));
  }
  const progs = new Map<number, string>();
  for (const id of progIds) {
    const p = ProgInfo.parse(
      JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { encoding: 'utf8' })),
    );
    progs.set(id, p.name);
    for (const m of p.map_ids ?? []) mapIds.add(m);
  }
  const maps = new Map<number, string>();
  for (const id of mapIds) {
    const m = MapInfo.parse(
      JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'id', String(id)], { encoding: 'utf8' })),
    );
    maps.set(id, m.name);
  }
  return { progs, maps };
}

async function heldBy(args: string[]): Promise<ReturnType<typeof held>> {
  const loader = new ProbeLoader(undefined, 0, args);
  try {
    await loader.ensureStarted();
    return held(loader.pid as number);
  } finally {
    await loader.stop();
  }
}

describe('the probe loaded on two threads', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', new URL('../../probes', import.meta.url).pathname], { stdio: 'inherit' });
  });

  it('loads every program once, all of them against one set of maps, as a load on one thread does', async () => {
    const split = await heldBy(['--no-flows']);
    const one = await heldBy(['--no-flows', '--no-split-load']);
    const names = (m: Map<number, string>): string[] => [...m.values()].sort();
    expect(names(split.progs)).toContain('on_dev_queue');
    expect(names(split.progs)).toContain('nf_nat');
    expect(names(split.progs)).toEqual(names(one.progs));
    // Per-CPU rings are created by the loader (one each, named pj_ring); every other map exists once.
    const objectMaps = (m: Map<number, string>): string[] => names(m).filter((n) => n !== 'pj_ring');
    expect(new Set(objectMaps(split.maps)).size).toBe(objectMaps(split.maps).length);
    expect(objectMaps(split.maps)).toEqual(objectMaps(one.maps));
  });

  it('a loader stopped before its ready record is killed, never becoming ready', async () => {
    const loader = new ProbeLoader(undefined, 0, ['--no-flows']);
    const states: string[] = [];
    loader.onStatus((s) => states.push(s.state));
    loader.prestart();
    expect(loader.status.state).toBe('starting');
    const pid = loader.pid as number;
    await loader.stop();
    expect(states).not.toContain('ready');
    expect(loader.status.state).toBe('stopped');
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
