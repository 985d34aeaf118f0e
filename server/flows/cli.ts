// `packet-journey trace --flows`: the all-traffic flow view, headless. Every packet is counted in the
// kernel (probes/flows.h); each tick (1 s) prints the flows known so far: a table, or one JSON record per
// tick with --json (the FlowsState of server/protocol/flows.ts, every flow included).
import { UsageError } from '../cli-args';
import type { FlowRow, FlowsState } from '../protocol/flows';

export interface FlowsCliOptions {
  readonly json: boolean;
  readonly seconds?: number | undefined;
  readonly sample?: number | undefined;
}

/** Checks the flags a `trace --flows` takes; throws a one-line UsageError. */
export function checkFlowsFlags(o: FlowsCliOptions): void {
  if (o.seconds !== undefined && (!Number.isFinite(o.seconds) || o.seconds <= 0 || o.seconds > 86_400))
    throw new UsageError('--seconds must be a number of seconds between 0 and 86400');
  if (o.sample !== undefined && (!Number.isInteger(o.sample) || o.sample < 0 || o.sample > 1000))
    throw new UsageError('--sample must be a whole number of journeys per flow per second, 0 to 1000');
}

const SI = ['', 'k', 'M', 'G', 'T'];
export function si(v: number, unit = ''): string {
  let i = 0;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)}${SI[i]}${unit}`;
}

/** The table printed each tick: the busiest `max` flows, then map pressure. */
export function formatFlows(s: FlowsState, max = 20): string {
  const rows = s.flows
    .slice(0, max)
    .map((f: FlowRow) => [
      f.id,
      si(f.packets),
      si(f.bytes, 'B'),
      si(f.pps, '/s'),
      si(f.bps, 'b/s'),
      f.dropsTotal ? `${f.dropsTotal} ${f.drops[0]?.reason ?? ''}` : '0',
      f.path.map((h) => h.netns).join(' → '),
    ]);
  const head = ['flow', 'packets', 'bytes', 'pkt/s', 'rate', 'drops', 'path'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  const p = s.pressure;
  const lost = p.insertFailed ? `, map full: ${p.insertFailed} new flows not counted (${p.lostPackets} packets)` : '';
  return [
    `tick ${s.seq}: ${s.total} flows, map ${p.entries}/${p.maxEntries}${lost}${s.total > max ? `; busiest ${max} shown` : ''}`,
    line(head),
    ...rows.map(line),
    '',
  ].join('\n');
}

export async function runFlows(o: FlowsCliOptions): Promise<number> {
  checkFlowsFlags(o);
  const [{ FlowView }, { LOADER_PATH, ProbeLoader }] = await Promise.all([
    import('./view'),
    import('../tracer/loader'),
  ]);
  const loader = new ProbeLoader(LOADER_PATH, 1);
  const view = new FlowView(loader, { ...(o.sample !== undefined && { samplePerSec: o.sample }) });
  let done: () => void = () => undefined;
  const ended = new Promise<void>((r) => (done = r));
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  let timer: NodeJS.Timeout | undefined;
  try {
    const off = await view.subscribe((s, r) => {
      if (!r) return; // a state without a tick (the start, the stop): nothing new counted
      if (o.json) {
        const flows = view.rows().sort((a, b) => b.bytes - a.bytes);
        process.stdout.write(JSON.stringify({ type: 'flows', ...s, flows }) + '\n');
      } else process.stdout.write(formatFlows(s) + '\n');
    });
    // From when the kernel counts, not from when the loader started.
    if (o.seconds !== undefined) timer = setTimeout(done, o.seconds * 1000);
    await ended;
    await off();
    return 0;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', done);
    process.off('SIGTERM', done);
    await loader.stop();
  }
}
