// sock-lb (seed 004): the echo ClusterIP made of cgroup connect4/sendmsg4/recvmsg4/getpeername4 programs
// on the cgroup v2 root instead of iptables. A connect() to 10.96.0.10:80 in a lab namespace is rewritten
// before any packet exists, so the wire only ever carries pod addresses. Only sockets whose netns cookie
// is in pj_sock_netns are touched; the host and every other container keep their connections as they are.
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { z } from 'zod';
import { exec } from '../../sys/exec';
import { cgroup2RootOf } from '../../topology/bpf-parse';
import { PIN_ROOT, cgroup2Root, ensureBpffs, exists, labObject } from '../bpf';
import { LabError } from '../errors';
import { NAMESPACES } from '../spec';
import { netnsUpdates, serviceUpdates, type SockLbMaps } from './sock-lb-maps';
import { netnsCookies } from './sock-lb-netns';
import type { Scenario, ScenarioCtx } from './types';
import { scenarioText } from './text';

export const SOCK_LB_DIR = `${PIN_ROOT}/sock-lb`;
const PROG_DIR = `${SOCK_LB_DIR}/progs`;
export const SOCK_LB_MAPS = {
  svc: `${SOCK_LB_DIR}/pj_sock_svc`,
  backend: `${SOCK_LB_DIR}/pj_sock_backend`,
  netns: `${SOCK_LB_DIR}/pj_sock_netns`,
  revnat: `${SOCK_LB_DIR}/pj_sock_revnat`,
} as const satisfies SockLbMaps & Record<string, string>;

/** Each program (its function name, pinned under PROG_DIR by `loadall`) and the hook bpftool calls it by. */
export const SOCK_LB_PROGS = [
  { name: 'sock_lb_connect', type: 'connect4' },
  { name: 'sock_lb_sendmsg', type: 'sendmsg4' },
  { name: 'sock_lb_recvmsg', type: 'recvmsg4' },
  { name: 'sock_lb_getpeer', type: 'getpeername4' },
] as const;

/** For the commands printed to a student: the same lookup as cgroup2Root(), synchronously at import. */
function cgroup2RootForDocs(): string {
  try {
    return cgroup2RootOf(readFileSync('/proc/self/mounts', 'utf8')) ?? '/sys/fs/cgroup';
  } catch {
    return '/sys/fs/cgroup';
  }
}

const ProgShown = z.array(z.object({ output: z.object({ id: z.number().int(), name: z.string() }) }));

/** Runs bpftool; a failure is one line: bpftool's own "Error: …" (batch mode adds "processed N commands"). */
async function bpftool(what: string, args: readonly string[], input?: string): Promise<string> {
  const r = await exec(['bpftool', ...args], input === undefined ? {} : { input });
  if (r.code !== 0) {
    const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim());
    const why = lines.filter((l) => l.startsWith('Error:')).pop() ?? lines.filter(Boolean).pop() ?? `exit ${r.code}`;
    throw new LabError(`sock-lb: ${what} failed: ${why.replace(/^Error:\s*/, '')}`);
  }
  return r.stdout;
}

/** Several bpftool commands in one process (not `prog loadall`: batch mode then trips on a stale errno). */
const bpftoolBatch = (what: string, lines: readonly string[], json = false): Promise<string> =>
  bpftool(what, [...(json ? ['--json'] : []), 'batch', 'file', '-'], lines.join('\n') + '\n');

/** Loads the object once: programs pinned under PROG_DIR, maps under SOCK_LB_DIR. Returns name -> id. */
async function loadPinned(): Promise<Map<string, number>> {
  await bpftool('loading the programs', ['prog', 'loadall', labObject('sock-lb'), PROG_DIR, 'pinmaps', SOCK_LB_DIR]);
  const shown = ProgShown.safeParse(
    JSON.parse(
      await bpftoolBatch(
        'reading the program ids',
        SOCK_LB_PROGS.map((p) => `prog show pinned ${PROG_DIR}/${p.name}`),
        true,
      ),
    ),
  );
  if (!shown.success) throw new LabError('sock-lb: bpftool did not report the loaded programs');
  return new Map(shown.data.map((s) => [s.output.name, s.output.id]));
}

async function up(ctx: ScenarioCtx): Promise<void> {
  ctx.progress('sock-lb: loading the cgroup programs and pinning their maps');
  await ensureBpffs();
  // Recorded before they exist, so a crash from here on still leaves `down` a complete list.
  if (!(await exists(PIN_ROOT))) ctx.owned.pins.push(PIN_ROOT);
  ctx.owned.pins.push(SOCK_LB_DIR);
  await ctx.save();
  // A directory of this name can only be a leftover of ours: start clean (pinning fails on EEXIST).
  await rm(SOCK_LB_DIR, { recursive: true, force: true });
  await mkdir(SOCK_LB_DIR, { recursive: true });
  const [ids, cookies, cgroup] = await Promise.all([loadPinned(), netnsCookies(NAMESPACES), cgroup2Root()]);

  // The ids exist from load on; recording them before the attach means no crash can strand one.
  for (const p of SOCK_LB_PROGS) {
    const id = ids.get(p.name);
    if (id === undefined) throw new LabError(`sock-lb: program ${p.name} was not loaded`);
    ctx.owned.cgroup.push({ cgroup, type: p.type, id });
  }
  await ctx.save();
  ctx.progress(`sock-lb: filling the maps and attaching to the cgroup v2 root ${cgroup}`);
  // Maps first: once attached, the programs can rewrite as soon as a lab socket connects. `multi` adds to
  // whatever else is attached at the root instead of replacing it, and keeps ours running for every
  // descendant cgroup.
  try {
    await bpftoolBatch('filling the maps and attaching', [
      ...serviceUpdates(SOCK_LB_MAPS),
      ...netnsUpdates(SOCK_LB_MAPS, cookies),
      ...SOCK_LB_PROGS.map((p) => `cgroup attach ${cgroup} ${p.type} pinned ${PROG_DIR}/${p.name} multi`),
    ]);
  } catch (e) {
    await forgetUnattached(ctx, cgroup);
    throw e;
  }
}

const Attached = z.array(z.object({ id: z.number().int() }));

/**
 * After a failed attach, keeps only the records of programs really attached. A detach by id of a program
 * that is not attached is not harmless: where the root holds a program attached without `multi` (which
 * is what makes our attach fail), the kernel detaches that one instead, whatever id is given.
 */
async function forgetUnattached(ctx: ScenarioCtx, cgroup: string): Promise<void> {
  const r = await exec(['bpftool', '--json', 'cgroup', 'show', cgroup]);
  // bpftool prints nothing at all when nothing is attached.
  const shown = Attached.safeParse(JSON.parse(r.stdout.trim() || '[]'));
  if (r.code !== 0 || !shown.success) return;
  const attached = new Set(shown.data.map((a) => a.id));
  const keep = ctx.owned.cgroup.filter((c) => c.cgroup !== cgroup || attached.has(c.id));
  ctx.owned.cgroup.splice(0, ctx.owned.cgroup.length, ...keep);
  await ctx.save();
}

const CG = cgroup2RootForDocs();

export const sockLb: Scenario = {
  info: {
    name: 'sock-lb',
    ...scenarioText('sock-lb', { cgroup: CG, pinDir: SOCK_LB_DIR }),
    seed: 'seed 004',
    tryCommands: [
      'ip netns exec pod-a curl -s 10.96.0.10',
      // getpeername() says 10.96.0.10:80 while ss (sock_diag, which no BPF rewrites) shows the real peer.
      "ip netns exec pod-a perl -MSocket -e 'socket(S, AF_INET, SOCK_STREAM, 0); " +
        'connect(S, pack_sockaddr_in(80, inet_aton("10.96.0.10"))) or die "$!\\n"; ' +
        'my ($port, $ip) = unpack_sockaddr_in(getpeername(S)); print "getpeername: ", inet_ntoa($ip), ":$port\\n"; ' +
        'system("ss -tn dst 10.244.2.0/24")\'',
      `bpftool cgroup tree ${CG}`,
      `bpftool map dump pinned ${SOCK_LB_MAPS.svc}`,
      `bpftool map dump pinned ${SOCK_LB_MAPS.backend}`,
      `bpftool map dump pinned ${SOCK_LB_MAPS.netns}`,
      'ip netns exec node1 iptables-save | grep -c 10.96.0.10',
      'ip netns exec node2 tcpdump -ni eth0 -c 6 tcp port 8080 or host 10.96.0.10',
    ],
    settings: [],
  },
  kubeProxy: { clusterIP: false, nodePort: false },
  servesNodePort: false,
  up,
};
