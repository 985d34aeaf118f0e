// `packet-journey topology [--json]`: every namespace, link, veth peer, bridge FDB, neighbour and route.
import { defineCommand, flagHelp, printJson, UsageError, type Command } from '../cli-args';
import { formatTree } from './format';
import { discoverTopology } from './index';

const flags = {
  json: { type: 'boolean', help: 'print the topology as JSON (the shape the web UI receives)' },
  ns: { type: 'string', help: 'show only this namespace (and, for a node, its pods)', metavar: 'NAME' },
} as const;

const USAGE = `usage: packet-journey topology [--json] [--ns NAME]

Discover every network namespace (ip netns, processes, Docker containers)
and what is wired inside and between them.

${flagHelp(flags)}`;

export const command: Command = defineCommand(flags, USAGE, async (a) => {
  if (a.positionals.length > 0) throw new UsageError(`unexpected argument "${a.positionals[0]}"`);
  const t = await discoverTopology();
  const want = a.flags.ns;
  const topo =
    want === undefined ? t : { ...t, namespaces: t.namespaces.filter((n) => n.name === want || n.node === want) };
  if (want !== undefined && topo.namespaces.length === 0) throw new UsageError(`no namespace named "${want}"`);
  if (a.flags.json) printJson(topo);
  else process.stdout.write(formatTree(topo) + '\n');
  return 0;
});
