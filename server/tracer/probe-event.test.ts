// The server's tables of the probe event are derived from probes/event.h, never retyped: the committed
// TypeScript must be exactly what the generator (probes/event-ts.c) writes from the header. No kernel.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { NF_HOOK_NAMES } from '../protocol/probe-names';
import { NfHook } from '../protocol/tracer';
import { EVENT_FIELDS } from './event-fields';
import { decodeRecording, parseLoaderLine } from './ndjson';

const root = new URL('../../', import.meta.url);
const generated = (what: 'fields' | 'names'): string =>
  execFileSync(new URL('probes/build/event-ts', root).pathname, [what], { encoding: 'utf8' });
const committed = (path: string): string => readFileSync(new URL(path, root), 'utf8');

describe('probe event tables (from probes/event.h)', () => {
  beforeAll(() => {
    // Userspace only: builds the generator if this checkout has not run `make -C probes` yet.
    execFileSync('make', ['-s', '-C', new URL('probes', root).pathname, 'build/event-ts']);
  });

  it('server/tracer/event-fields.ts is what event.h generates', () => {
    expect(committed('server/tracer/event-fields.ts')).toBe(generated('fields'));
  });

  it('server/protocol/probe-names.ts is what event.h generates', () => {
    expect(committed('server/protocol/probe-names.ts')).toBe(generated('names'));
  });

  it('the wire vocabulary uses the generated netfilter hook names', () => {
    expect(NfHook.options).toEqual([...NF_HOOK_NAMES]);
  });

  it("a recorded loader's ready record declares exactly the generated fields, at their widths", () => {
    const ready = JSON.parse(committed('server/tracer/fixtures/ping-pod-a-pod-c.ndjson').split('\n')[0] ?? '') as {
      layout: { fields: Record<string, [number, number]> };
    };
    const widths = Object.fromEntries(Object.entries(ready.layout.fields).map(([k, [, w]]) => [k, w]));
    expect(widths).toEqual(EVENT_FIELDS);
  });

  it('every recorded hop decodes, with netfilter hooks only on netfilter-link events', () => {
    for (const f of ['ping-pod-a-pod-c', 'tcp-pod-a-clusterip', 'drop-forward', 'tcp-pod-a-sock-lb']) {
      const hops = decodeRecording(committed(`server/tracer/fixtures/${f}.ndjson`));
      expect(hops.length).toBeGreaterThan(5);
      for (const h of hops) expect(h.nfHook !== undefined).toBe(h.hook.startsWith('nf_'));
    }
    expect(() => decodeRecording('{"type":"hop","ts_ns":1}')).toThrow(/not a loader record/);
    expect(parseLoaderLine('{"type":"hop","ts_ns":1}')).toBeUndefined(); // per-hop lines are gone
  });
});
