// `packet-journey follow`: send a packet from a namespace and print where it went, hop by hop.
import { defineCommand, flagHelp, parseRequest, printJson, UsageError, type Command } from '../cli-args';
import { FollowRequest, TraceProto } from '../protocol/tracer';
import { follow, FollowError } from './follow';
import { formatJourney } from './format';
import { getLoader } from './loader';

const flags = {
  from: { type: 'string', help: 'source namespace: host, an ip netns name, a container or a pod', metavar: 'NETNS' },
  to: { type: 'string', help: 'destination: an IPv4 address or a namespace/pod name', metavar: 'IP|NETNS' },
  proto: { type: 'enum', values: TraceProto.options, help: 'what to send (default icmp: one ping)' },
  // Ranges and defaults are FollowRequest's (server/protocol/tracer.ts), checked by parseRequest.
  port: { type: 'number', help: 'tcp/udp destination port (default 80 for tcp, 53 for udp)' },
  timeout: { type: 'number', help: 'give up after this many ms (default 3000)' },
  rules: { type: 'boolean', help: 'add iptables TRACE where the packet goes for rule-level detail (removed after)' },
  json: { type: 'boolean', help: 'print the journey as JSON' },
} as const;

const USAGE = `usage: packet-journey follow --from <netns|container|pod> --to <ip|netns|pod> [--proto icmp|tcp|udp] [--port N] [--json]

Sends one packet (a ping with a unique ICMP id, a TCP connect or a UDP datagram) from inside the source
namespace and follows it hop by hop through the kernel with eBPF: namespaces, interfaces, NAT, netfilter
verdicts and drops, then its reply.

options:
${flagHelp(flags)}`;

export const command: Command = defineCommand(flags, USAGE, async ({ flags: f, positionals }) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const req = parseRequest(
    FollowRequest,
    { from: f.from, to: f.to, proto: f.proto, port: f.port, timeoutMs: f.timeout, rules: f.rules },
    { timeoutMs: '--timeout' },
  );
  // Not the schema's rule (a follow ignores the port of a ping), but on the command line it is a mistake.
  if (req.port !== undefined && req.proto === 'icmp') throw new UsageError('--port needs --proto tcp or udp');
  const loader = getLoader();
  try {
    const j = await follow(req, { loader });
    if (f.json) printJson(j);
    else process.stdout.write(formatJourney(j) + '\n');
    return j.delivered ? 0 : 1;
  } catch (e) {
    if (e instanceof FollowError) throw new UsageError(e.message);
    throw e;
  } finally {
    await loader.stop();
  }
});
