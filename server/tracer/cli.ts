// `packet-journey follow`: send a packet from a namespace and print where it went, hop by hop.
import { defineCommand, flagHelp, parseRequest, printJson, UsageError, type Command } from '../cli-args';
import { FollowRequest, LiveFilter, TraceProto } from '../protocol/tracer';
import { connectServerLean, serverForCli } from '../running-server';
import type { Journey } from '../protocol/tracer';
import { asUsage } from '../sys/errors';
import { formatJourney } from './format';

const flags = {
  from: { type: 'string', help: 'source namespace: host, an ip netns name, a container or a pod', metavar: 'NETNS' },
  to: { type: 'string', help: 'destination: an IPv4 or IPv6 address or a namespace/pod name', metavar: 'IP|NETNS' },
  ipv6: { type: 'boolean', short: '6', help: "IPv6: send to the named namespace's/pod's IPv6 address" },
  proto: { type: 'enum', values: TraceProto.options, help: 'what to send (default icmp: one ping)' },
  // Ranges and defaults are FollowRequest's (server/protocol/tracer.ts), checked by parseRequest.
  port: { type: 'number', help: 'tcp/udp destination port (default 80 for tcp, 53 for udp)' },
  timeout: { type: 'number', help: 'give up after this many ms (default 3000)' },
  rules: { type: 'boolean', help: 'add iptables TRACE where the packet goes for rule-level detail (removed after)' },
  filter: {
    type: 'string',
    help: 'trace only where the packet also matches this pcap-filter expression',
    metavar: 'EXPR',
  },
  json: { type: 'boolean', help: 'print the journey as JSON' },
  local: { type: 'boolean', help: "use this command's own probe loader even when a server is running" },
} as const;

const USAGE = `usage: packet-journey follow --from <netns|container|pod> --to <ip|netns|pod> [-6] [--proto icmp|tcp|udp] [--port N] [--filter EXPR] [--json]

Sends one packet (a ping with a unique ICMP id, a TCP connect or a UDP datagram) from inside the source
namespace and follows it hop by hop through the kernel with eBPF: namespaces, interfaces, NAT, netfilter
verdicts and drops, then its reply. When \`packet-journey serve\` runs from this checkout, the follow goes
through it (its probe loader is already attached); otherwise, or with --local, this command starts its own.

options:
${flagHelp(flags)}`;

export const command: Command = defineCommand(flags, USAGE, async ({ flags: f, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const req = parseRequest(
    FollowRequest,
    {
      from: f.from,
      to: f.to,
      ...(f.ipv6 && { family: 6 }),
      proto: f.proto,
      port: f.port,
      timeoutMs: f.timeout,
      rules: f.rules,
      expr: f.filter,
    },
    { timeoutMs: '--timeout', expr: '--filter' },
  );
  // Not the schema's rule (a follow ignores the port of a ping), but on the command line it is a mistake.
  if (req.port !== undefined && req.proto === 'icmp') throw new UsageError('--port needs --proto tcp or udp');
  try {
    const j = (!f.local && (await throughServer(req))) || (await followHere(req));
    if (f.json) printJson(j);
    else process.stdout.write(formatJourney(j) + '\n');
    return j.delivered ? 0 : 1;
  } catch (e) {
    // A follow's user errors (an unknown namespace, no route), from here or from the server.
    throw asUsage(e);
  }
});

const debug = (line: string): void => {
  // With the time since the process started: where a slow call spent it.
  if (process.env.PJ_DEBUG)
    process.stderr.write(`packet-journey follow: [${performance.now().toFixed(0)} ms] ${line}\n`);
};

/** Through the running server of this checkout; undefined when there is none (or it does not answer). */
async function throughServer(req: FollowRequest): Promise<Journey | undefined> {
  debug('looking for a running server');
  const c = await connectServerLean();
  if (!('socket' in c)) {
    if (c.why) process.stderr.write(`packet-journey follow: ${c.why}; following with this command's own loader\n`);
    return undefined;
  }
  debug(`connected to the server at ${c.server.url} (pid ${c.server.pid})`);
  try {
    const { remoteFollow } = await import('./remote');
    const j = await remoteFollow(c.socket, req);
    debug('journey received');
    return j;
  } finally {
    c.socket.close();
  }
}

/** With a loader of our own, stopped as soon as the packet is followed (while the hops are explained). */
async function followHere(req: FollowRequest): Promise<Journey> {
  debug("with this command's own probe loader");
  // Loaded only here: a follow through the server needs none of the tracer's own machinery.
  const { LOADER_PATH, ProbeLoader } = await import('./loader');
  // --rules follows twice: keep the loader between the two. A follow never counts flows, and leaving the
  // flow view's code out of the programs takes ~160 ms off the attach (BENCHMARKS.md, a fast CLI); one
  // packet's hops need 2 MB rings, not 32 MB (whose creation took ~40 ms).
  const loader = new ProbeLoader(LOADER_PATH, req.rules ? 15_000 : 1, ['--no-flows', '--ring-mb', '2']);
  // Spawned before the follow's own code loads (~160 ms) and its ends resolve: the verifier runs
  // meanwhile. A bad name still fails at once, since stopping a loader not yet ready kills it.
  loader.prestart();
  loader.onStatus((s) => debug(`probe loader ${s.state}`));
  try {
    const { follow } = await import('./follow');
    debug('follow imported');
    return await follow(req, { loader });
  } finally {
    await loader.stop();
  }
}

const traceFlags = {
  filter: {
    type: 'string',
    help: 'a pcap-filter expression, as tcpdump takes it (default: every packet)',
    metavar: 'EXPR',
  },
  count: { type: 'number', help: 'stop after N journeys (default: until Ctrl-C)' },
  netns: { type: 'string', help: 'only in these namespaces (comma-separated names)', metavar: 'NS,…' },
  flows: {
    type: 'boolean',
    help: 'the all-traffic flow view: every packet counted in the kernel, per flow, each second',
  },
  json: { type: 'boolean', help: 'with --flows: one JSON record per second instead of a table' },
  seconds: { type: 'number', help: 'with --flows: stop after N seconds (default: until Ctrl-C)' },
  sample: {
    type: 'number',
    help: 'with --flows: journeys sampled per flow per second after its first (default 1; own loader)',
  },
  local: { type: 'boolean', help: "use this command's own probe loader even when a server is running" },
} as const;

const TRACE_USAGE = `usage: packet-journey trace [--filter EXPR] [--count N] [--netns NS,…] [--local]
       packet-journey trace --flows [--json] [--seconds N] [--sample N] [--local]

A headless live view: every packet matching the filter, in any namespace, followed through the kernel
with eBPF and printed as one JSON journey per line (the shape of \`follow --json\`) when it ends, until
Ctrl-C or --count journeys. The filter runs in the probe, compiled by libpcap: \`host 10.244.2.2 and tcp
port 8080\`, \`icmp[icmptype] == icmp-echo\`, \`vlan\`, \`ether host …\`.

With --flows, every packet of all traffic is counted instead, in the kernel, once per (flow, namespace):
packets, bytes, payload bytes, drops by reason and the devices crossed, printed each second as a table
(or NDJSON with --json), with the map's pressure. The first packet of each flow, then --sample a second,
is followed in full.

When \`packet-journey serve\` runs from this checkout, both go through it (its probe loader is already
attached; its live views send at most 10 journeys per 50 ms, the rest counted as dropped on stderr, and
its flow records hold the busiest 500 flows); otherwise, or with --local, this command starts its own.

options:
${flagHelp(traceFlags)}`;

export const traceCommand: Command = defineCommand(traceFlags, TRACE_USAGE, async ({ flags: f, positionals }) => {
  if (f.flows) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (f.filter !== undefined || f.count !== undefined || f.netns !== undefined)
      throw new UsageError('--flows counts all traffic: it takes no --filter, --count or --netns');
    return (await import('../flows/cli')).runFlows({
      json: f.json,
      seconds: f.seconds,
      sample: f.sample,
      local: f.local,
    });
  }
  if (f.json || f.seconds !== undefined || f.sample !== undefined)
    throw new UsageError('--json, --seconds and --sample go with --flows (trace prints NDJSON anyway)');
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}" (quote the --filter expression)`);
  if (f.count !== undefined && (!Number.isInteger(f.count) || f.count < 1))
    throw new UsageError('--count must be a whole number ≥ 1');
  const netns = f.netns?.split(',').filter(Boolean);
  const filter = parseRequest(LiveFilter, { expr: f.filter, ...(netns && { netns }) }, { expr: '--filter' });
  if (!f.local) {
    const done = await traceThroughServer(filter, f.count);
    if (done !== undefined) return done;
  }
  const [{ compileFilter }, { traceJourneys }, { LOADER_PATH, ProbeLoader }] = await Promise.all([
    import('./pcap-filter'),
    import('./live'),
    import('./loader'),
  ]);
  // Checked before the loader starts: a bad expression attaches nothing.
  try {
    await compileFilter(filter.expr ?? '');
  } catch (e) {
    throw asUsage(e);
  }
  const loader = new ProbeLoader(LOADER_PATH, 1);
  const out = printer(f.count);
  try {
    const t = await traceJourneys(loader, filter, out.journey);
    await out.ended;
    await t.stop();
    if (t.dropped() > 0)
      process.stderr.write(`packet-journey trace: ${t.dropped()} journeys dropped (the server fell behind)\n`);
    return 0;
  } catch (e) {
    throw asUsage(e);
  } finally {
    out.dispose();
    await loader.stop();
  }
});

/** Prints journeys as NDJSON until Ctrl-C, `count` of them, or end(). */
function printer(count: number | undefined) {
  let seen = 0;
  let done: () => void = () => undefined;
  const ended = new Promise<void>((r) => (done = r));
  const onSignal = (): void => done();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    ended,
    end: onSignal,
    journey: (j: Journey): void => {
      if (count !== undefined && seen >= count) return;
      process.stdout.write(JSON.stringify(j) + '\n');
      if (count !== undefined && ++seen >= count) done();
    },
    dispose: (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * `trace` through the running server's loader (its live view, budgeted as every live view is); undefined
 * when none runs. The expression is compiled there, before anything is attached: the same one line.
 */
async function traceThroughServer(filter: LiveFilter, count: number | undefined): Promise<number | undefined> {
  const c = await serverForCli('trace', "tracing with this command's own loader");
  if (!c) return undefined;
  const { remoteTrace } = await import('./remote');
  const out = printer(count);
  let failed: Error | undefined;
  try {
    const t = await remoteTrace(c.socket, filter, out.journey, (e) => {
      failed ??= e;
      out.end();
    });
    if (process.env.PJ_DEBUG) process.stderr.write('packet-journey trace: the live view runs on the server\n');
    await out.ended;
    if (failed) throw failed;
    await t.stop();
    if (t.dropped() > 0)
      process.stderr.write(
        `packet-journey trace: ${t.dropped()} journeys dropped (the server's live view sends at most 10 per 50 ms; --local traces them all)\n`,
      );
    return 0;
  } catch (e) {
    throw asUsage(e);
  } finally {
    out.dispose();
    c.socket.close();
  }
}
