// `packet-journey trace --flows`: the all-traffic flow view, headless. Every packet is counted in the
// kernel (probes/flows.h); each tick (1 s) prints the flows known so far: a table, or one JSON record per
// tick with --json (the FlowsState of server/protocol/flows.ts, every flow included).
import { UsageError } from '../cli-args';
import type { FlowRow, FlowsState } from '../protocol/flows';
import { asUsage } from '../sys/errors';

export interface FlowsCliOptions {
  readonly json: boolean;
  readonly seconds?: number | undefined;
  readonly sample?: number | undefined;
  /** This command's own loader even when a server is running. */
  readonly local?: boolean;
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

/** One tick as printed: the table, or the record with every flow given, busiest (by bytes) first. */
function printTick(o: FlowsCliOptions, s: FlowsState, flows: FlowRow[]): void {
  if (o.json)
    process.stdout.write(
      JSON.stringify({ type: 'flows', ...s, flows: flows.sort((a, b) => b.bytes - a.bytes) }) + '\n',
    );
  else process.stdout.write(formatFlows(s) + '\n');
}

/** Until Ctrl-C or --seconds (counted from when the kernel counts, not from when the loader started). */
function untilEnd(o: FlowsCliOptions): { ended: Promise<void>; arm(): void; end(): void; dispose(): void } {
  let done: () => void = () => undefined;
  const ended = new Promise<void>((r) => (done = r));
  let timer: NodeJS.Timeout | undefined;
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  return {
    ended,
    arm: () => {
      if (o.seconds !== undefined) timer = setTimeout(done, o.seconds * 1000);
    },
    end: () => done(),
    dispose: () => {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
    },
  };
}

export async function runFlows(o: FlowsCliOptions): Promise<number> {
  checkFlowsFlags(o);
  // --sample sets the view's own rate: the server's view samples at its own, so it takes a loader here.
  if (!o.local && o.sample === undefined) {
    const done = await throughServer(o);
    if (done !== undefined) return done;
  }
  const [{ FlowView }, { LOADER_PATH, ProbeLoader }] = await Promise.all([
    import('./view'),
    import('../tracer/loader'),
  ]);
  const loader = new ProbeLoader(LOADER_PATH, 1);
  const view = new FlowView(loader, { ...(o.sample !== undefined && { samplePerSec: o.sample }) });
  const end = untilEnd(o);
  try {
    const off = await view.subscribe((s, r) => {
      if (!r) return; // a state without a tick (the start, the stop): nothing new counted
      printTick(o, s, o.json ? view.rows() : s.flows);
    });
    end.arm();
    await end.ended;
    await off();
    return 0;
  } finally {
    end.dispose();
    await loader.stop();
  }
}

/** Through the running server's flow view; undefined when none runs (or it does not answer). */
async function throughServer(o: FlowsCliOptions): Promise<number | undefined> {
  const { serverForCli } = await import('../running-server');
  const c = await serverForCli('trace', "counting with this command's own loader");
  if (!c) return undefined;
  const { remoteFlows } = await import('./remote');
  const end = untilEnd(o);
  let failed: Error | undefined;
  try {
    const w = await remoteFlows(
      c.socket,
      // The server sends the busiest FLOWS_SENT_MAX flows of each tick (`total` counts them all).
      (s) => printTick(o, s, [...s.flows]),
      (e) => {
        failed ??= e;
        end.end();
      },
    );
    end.arm();
    await end.ended;
    w.stop();
    if (failed) throw failed;
    return 0;
  } catch (e) {
    throw asUsage(e);
  } finally {
    end.dispose();
    c.socket.close();
  }
}
