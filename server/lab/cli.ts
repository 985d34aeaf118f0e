import { UsageError, defineCommand, flagHelp, printJson, type Command } from '../cli-args';
import { LabScenario, type LabStatus } from '../protocol/lab';
import { labDown, labStatus, labUp } from './lab';

const FLAGS = {
  scenario: {
    type: 'enum',
    values: LabScenario.options,
    help: 'which lab to bring up (default basic; dsr is reserved, not implemented yet)',
  },
  json: { type: 'boolean', help: 'print JSON' },
} as const;

const USAGE = `usage: packet-journey lab up|down|status [--scenario basic|dsr] [--json]

  up       create the embedded 2-node cluster (idempotent)
  down     remove everything the lab created
  status   show what is up

${flagHelp(FLAGS)}`;

function printStatus(s: LabStatus): void {
  const state = s.up ? 'up' : s.partial ? 'partial (run `lab up` to repair or `lab down` to clean)' : 'down';
  process.stdout.write(`lab: ${state}${s.scenario ? ` (scenario ${s.scenario})` : ''}\n`);
  if (!s.up && !s.partial) return;
  for (const n of s.namespaces) {
    const where = n.node ? ` on ${n.node}` : '';
    process.stdout.write(`  ${n.present ? '●' : '○'} ${n.name.padEnd(6)} ${n.role.padEnd(5)} ${n.addr}${where}\n`);
  }
  for (const svc of s.services) {
    process.stdout.write(
      `  service ${svc.name}: ${svc.clusterIP}:${svc.port}, NodePort ${svc.nodePort} -> ${svc.backends.join(', ')}\n`,
    );
  }
  for (const e of s.echoServers)
    process.stdout.write(`  echo server in ${e.pod}: pid ${e.pid}${e.alive ? '' : ' (dead)'}\n`);
}

export const command: Command = defineCommand(FLAGS, USAGE, async ({ flags, positionals }) => {
  const [action, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const progress = flags.json ? undefined : (step: string) => process.stderr.write(`  … ${step}\n`);
  switch (action) {
    case 'up': {
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
      const r = await labDown({ onProgress: progress });
      if (flags.json) printJson(r);
      else process.stdout.write(r.message + '\n');
      return 0;
    }
    case 'status': {
      const s = await labStatus();
      if (flags.json) printJson(s);
      else printStatus(s);
      return 0;
    }
    case undefined:
      throw new UsageError('missing action: up, down or status');
    default:
      throw new UsageError(`unknown action "${action}": use up, down or status`);
  }
});
