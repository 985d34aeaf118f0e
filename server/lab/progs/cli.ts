// `packet-journey lab prog attach|detach|list|block|unblock` (seed 003). Reached from `lab prog …` with the
// raw arguments; each action assembles a LabProgAction, the socket's wire type, and calls labProg.
import {
  UsageError,
  defineCommand,
  flagHelp,
  parseRequest,
  printJson,
  type Command,
  type ParsedFlags,
} from '../../cli-args';
import { LabProgAction, ProgHook, TeachingProgram, type LabProgram } from '../../protocol/lab';
import { BLOCKLIST_PIN, blockedSources } from './blocklist';
import { PROGRAMS } from './catalog';
import { ProgLoadError, labProg, listPrograms } from './index';
import { HOST } from './where';

const FLAGS = {
  netns: {
    type: 'string',
    metavar: 'NS',
    help: `lab namespace: node1, node2, pod-a..pod-d, or ${HOST} (kind0, veth-node*)`,
  },
  iface: { type: 'string', metavar: 'IF', help: 'interface in that namespace, e.g. eth0' },
  hook: {
    type: 'enum',
    values: ProgHook.options,
    help: 'where to attach (default: tc-ingress for drop-all, xdp for xdp-drop and blocklist)',
  },
  ip: { type: 'string', metavar: 'A', help: 'IPv4 source address for block/unblock' },
  verbose: { type: 'boolean', short: 'v', help: "print the verifier's full log when the kernel refuses a program" },
  json: { type: 'boolean', help: 'print the attached programs as JSON' },
} as const;

const PROGRAM_HELP = TeachingProgram.options.map((p) => `  ${p.padEnd(10)} ${PROGRAMS[p].summary}`).join('\n');

const USAGE = `usage: packet-journey lab prog attach PROGRAM --netns NS --iface IF [--hook H]
       packet-journey lab prog detach --netns NS --iface IF [--hook H]
       packet-journey lab prog list [--json]
       packet-journey lab prog block --ip A | unblock --ip A

Attach seed 003's teaching programs to an interface of the running lab, and watch \`bpftool prog\`,
\`tc filter show dev IF ingress\` and \`ip link\` show them. The blocklist's map is pinned at
${BLOCKLIST_PIN} (\`bpftool map dump pinned ${BLOCKLIST_PIN}\`).

programs:
${PROGRAM_HELP}

${flagHelp(FLAGS)}`;

function printTable(progs: readonly LabProgram[]): void {
  if (progs.length === 0) {
    process.stdout.write('no teaching programs attached\n');
    return;
  }
  const rows = [
    ['ID', 'NAME', 'TAG', 'PROGRAM', 'ATTACHED TO', 'MODE'],
    ...progs.map((p) => [String(p.id), p.name, p.tag, p.program, `${p.netns}/${p.iface} ${p.hook}`, p.mode]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    process.stdout.write(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
}

async function printBlocklist(): Promise<void> {
  const b = await blockedSources();
  if (b.length === 0) return;
  const list = b.map((x) => `${x.ip} (${x.drops} dropped)`).join(', ');
  process.stdout.write(`blocklist ${BLOCKLIST_PIN}: ${list}\n`);
}

/** The hook to detach when none is given: the only one of ours on that interface. */
async function soleHook(netns: string | undefined, iface: string | undefined): Promise<ProgHook | undefined> {
  const on = (await listPrograms()).filter((p) => p.netns === netns && p.iface === iface);
  if (on.length > 1)
    throw new UsageError(`${netns}/${iface} has ${on.map((p) => p.hook).join(' and ')}: pick one with --hook`);
  if (on[0]) return on[0].hook;
  if (netns === undefined || iface === undefined) return undefined;
  throw new UsageError(`no teaching program is attached to ${netns}/${iface}`);
}

async function actionOf(verb: string, rest: string[], f: ParsedFlags<typeof FLAGS>): Promise<LabProgAction> {
  const where = { netns: f.netns, iface: f.iface };
  switch (verb) {
    case 'attach': {
      const [program, ...extra] = rest;
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      if (program === undefined) throw new UsageError(`attach needs a PROGRAM: ${TeachingProgram.options.join(', ')}`);
      const p = TeachingProgram.safeParse(program);
      if (!p.success) throw new UsageError(`unknown program "${program}": use ${TeachingProgram.options.join(', ')}`);
      const hook = f.hook ?? PROGRAMS[p.data].defaultHook;
      return parseRequest(LabProgAction, { action: 'attach', program: p.data, ...where, hook });
    }
    case 'detach': {
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const hook = f.hook ?? (await soleHook(f.netns, f.iface));
      return parseRequest(LabProgAction, { action: 'detach', ...where, hook });
    }
    case 'block':
    case 'unblock':
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      return parseRequest(LabProgAction, { action: verb, ip: f.ip });
    default:
      throw new UsageError(`unknown action "${verb}": use attach, detach, list, block or unblock`);
  }
}

export const command: Command = defineCommand(FLAGS, USAGE, async ({ flags, positionals }) => {
  const [verb, ...rest] = positionals;
  if (verb === undefined) throw new UsageError('missing action: attach, detach, list, block or unblock');
  let progs: LabProgram[];
  if (verb === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    progs = await listPrograms();
  } else {
    const action = await actionOf(verb, rest, flags);
    try {
      progs = await labProg(action);
    } catch (e) {
      if (e instanceof ProgLoadError && flags.verbose) process.stderr.write(`${e.verifierLog}\n`);
      throw e;
    }
  }
  if (flags.json) {
    printJson(progs);
    return 0;
  }
  printTable(progs);
  await printBlocklist();
  return 0;
});
