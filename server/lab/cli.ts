import { UsageError, defineCommand, flagHelp, printJson, type Command } from '../cli-args';
import { LabScenario, type LabStatus } from '../protocol/lab';
import { labDown, labStatus, labUp } from './lab';
import { labSet } from './set';
import { CATALOG } from './scenarios';

const FLAGS = {
  scenario: {
    type: 'enum',
    values: LabScenario.options,
    help: 'which datapath to bring up (default basic; see the list below)',
  },
  json: { type: 'boolean', help: 'print JSON' },
} as const;

const SCENARIO_HELP = CATALOG.map((s) => {
  const settings = s.settings.map((x) => `${x.name}=${x.values.join('|')}`).join(' ');
  return `  ${s.name.padEnd(13)} ${s.title}${s.seed ? ` (${s.seed})` : ''}${settings ? `; lab set ${settings}` : ''}`;
}).join('\n');

const USAGE = `usage: packet-journey lab up [--scenario NAME] | down | status | set NAME=VALUE | prog … [--json]

  up       create the embedded 2-node cluster with a datapath (idempotent; switching scenario rebuilds it)
  down     remove everything the lab created
  status   show what is up, and the scenario's commands to try
  set      change a setting of the running scenario, e.g. \`lab set etp=Local\`
  prog     attach the teaching programs (drop-all, xdp-drop, blocklist); see \`lab prog --help\`

scenarios:
${SCENARIO_HELP}

${flagHelp(FLAGS)}`;

function printStatus(s: LabStatus): void {
  const state = s.up ? 'up' : s.partial ? 'partial (run `lab up` to repair or `lab down` to clean)' : 'down';
  const settings = Object.entries(s.settings).map(([k, v]) => `${k}=${v}`);
  process.stdout.write(
    `lab: ${state}${s.scenario ? ` (scenario ${s.scenario}${settings.length ? `, ${settings.join(' ')}` : ''})` : ''}\n`,
  );
  if (!s.up && !s.partial) return;
  for (const n of s.namespaces) {
    const where = n.node ? ` on ${n.node}` : '';
    process.stdout.write(
      `  ${n.present ? '●' : '○'} ${n.name.padEnd(6)} ${n.role.padEnd(5)} ${n.addr}${n.addr6 ? ` ${n.addr6}` : ''}${where}\n`,
    );
  }
  for (const svc of s.services) {
    process.stdout.write(
      `  service ${svc.name}: ${svc.clusterIP}:${svc.port}${svc.clusterIP6 ? ` [${svc.clusterIP6}]:${svc.port}` : ''}${svc.nodePort === null ? '' : `, NodePort ${svc.nodePort}`} -> ${svc.backends.join(', ')}\n`,
    );
  }
  for (const e of s.echoServers)
    process.stdout.write(`  echo server in ${e.pod}: pid ${e.pid}${e.alive ? '' : ' (dead)'}\n`);
  for (const p of s.programs)
    process.stdout.write(`  program ${p.program} (id ${p.id}) on ${p.netns}/${p.iface} ${p.hook}\n`);
  const info = s.catalog.find((c) => c.name === s.scenario);
  if (info && info.tryCommands.length > 0) {
    process.stdout.write(`\n${info.title}: ${info.description}\n\ntry:\n`);
    for (const c of info.tryCommands) process.stdout.write(`  ${c}\n`);
  }
}

/** `NAME=VALUE` → its parts, or a usage error naming what is wrong. */
function parseAssignment(arg: string | undefined): [string, string] {
  const m = arg === undefined ? null : /^([a-z][a-z0-9-]*)=([A-Za-z0-9._-]+)$/.exec(arg);
  if (!m) throw new UsageError(`lab set needs NAME=VALUE, e.g. etp=Local${arg ? `, not "${arg}"` : ''}`);
  return [m[1] as string, m[2] as string];
}

const main = defineCommand(FLAGS, USAGE, async ({ flags, positionals }) => {
  const [action, ...extra] = positionals;
  const progress = flags.json ? undefined : (step: string) => process.stderr.write(`  … ${step}\n`);
  const noMore = (n: number): void => {
    if (extra.length > n) throw new UsageError(`unexpected argument "${extra[n]}"`);
  };
  switch (action) {
    case 'up': {
      noMore(0);
      const t0 = performance.now();
      const s = await labUp({ scenario: flags.scenario, onProgress: progress });
      if (flags.json) printJson(s);
      else {
        printStatus(s);
        process.stdout.write(`ready in ${Math.round(performance.now() - t0)} ms\n`);
      }
      return 0;
    }
    case 'down': {
      noMore(0);
      const r = await labDown({ onProgress: progress });
      if (flags.json) printJson(r);
      else process.stdout.write(r.message + '\n');
      return 0;
    }
    case 'status': {
      noMore(0);
      const s = await labStatus();
      if (flags.json) printJson(s);
      else printStatus(s);
      return 0;
    }
    case 'set': {
      noMore(1);
      const [name, value] = parseAssignment(extra[0]);
      const s = await labSet(name, value, { onProgress: progress });
      if (flags.json) printJson(s);
      else printStatus(s);
      return 0;
    }
    case undefined:
      throw new UsageError('missing action: up, down, status, set or prog');
    default:
      throw new UsageError(`unknown action "${action}": use up, down, status, set or prog`);
  }
});

export const command: Command = {
  // `prog` has flags of its own, so it gets the raw arguments.
  run: async (argv) => (argv[0] === 'prog' ? (await import('./progs/cli')).command.run(argv.slice(1)) : main.run(argv)),
};
