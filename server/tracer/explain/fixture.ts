// A routed and bridged topology the explainer's real-kernel tests build for themselves (no lab names):
//   c (10.78.1.2) --veth-- r (router, 10.78.1.1 | bridge 10.78.2.1) --bridge port-- s (10.78.2.2)
// Each scenario then breaks one thing in r (rp_filter, a route, an iptables rule, a tc or XDP program).
import { execFileSync } from 'node:child_process';

export const WHY_PREFIX = 'pjt-why-';
export const WHY = {
  c: `${WHY_PREFIX}c`,
  r: `${WHY_PREFIX}r`,
  s: `${WHY_PREFIX}s`,
  /** r's side of c's veth, r's bridge and its port to s. */
  rc: `${WHY_PREFIX}rc`,
  br: `${WHY_PREFIX}br`,
  rs: `${WHY_PREFIX}rs`,
  cIf: `${WHY_PREFIX}c0`,
  sIf: `${WHY_PREFIX}s0`,
} as const;
export const WHY_IP = { c: '10.78.1.2', r: '10.78.1.1', rBr: '10.78.2.1', s: '10.78.2.2' } as const;

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
export const inNs = (ns: string, argv: string[]): string =>
  sh(['nsenter', `--net=/var/run/netns/${ns}`, '--', ...argv]);

function netnsList(): string[] {
  return sh(['ip', 'netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export function buildWhyTopology(): void {
  removeWhyTopology();
  for (const n of [WHY.c, WHY.r, WHY.s]) {
    sh(['ip', 'netns', 'add', n]);
    sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', 'link', 'add', WHY.cIf, 'netns', WHY.c, 'type', 'veth', 'peer', 'name', WHY.rc, 'netns', WHY.r]);
  sh(['ip', 'link', 'add', WHY.sIf, 'netns', WHY.s, 'type', 'veth', 'peer', 'name', WHY.rs, 'netns', WHY.r]);
  sh(['ip', '-n', WHY.r, 'link', 'add', WHY.br, 'type', 'bridge']);
  sh(['ip', '-n', WHY.r, 'link', 'set', WHY.rs, 'master', WHY.br]);
  const cfg: [string, string, string | undefined, string | undefined][] = [
    [WHY.c, WHY.cIf, `${WHY_IP.c}/24`, WHY_IP.r],
    [WHY.s, WHY.sIf, `${WHY_IP.s}/24`, WHY_IP.rBr],
    [WHY.r, WHY.rc, `${WHY_IP.r}/24`, undefined],
    [WHY.r, WHY.br, `${WHY_IP.rBr}/24`, undefined],
    [WHY.r, WHY.rs, undefined, undefined],
  ];
  for (const [ns, dev, addr, gw] of cfg) {
    if (addr) sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    if (gw) sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', gw]);
  }
  inNs(WHY.r, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // Keep the lab's defaults out of the way: each scenario sets what it tests.
  inNs(WHY.r, ['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0']);
  inNs(WHY.r, ['sysctl', '-qw', `net.ipv4.conf.${WHY.rc}.rp_filter=0`]);
}

export function removeWhyTopology(): void {
  for (const n of [WHY.c, WHY.r, WHY.s]) if (netnsList().includes(n)) sh(['ip', 'netns', 'del', n]);
}

/** c's neighbour entry for r, pinned: scenarios that drop everything at r would otherwise drop c's ARP too. */
export function pinNeighbour(): void {
  const mac = /link\/ether (\S+)/.exec(inNs(WHY.r, ['ip', 'link', 'show', 'dev', WHY.rc]))?.[1];
  if (!mac) throw new Error(`no MAC on ${WHY.rc}`);
  inNs(WHY.c, ['ip', 'neigh', 'replace', WHY_IP.r, 'lladdr', mac, 'dev', WHY.cIf, 'nud', 'permanent']);
}

/**
 * The explainer's budget in tests that check what the reasons say: the product's 100 ms is met on a quiet
 * machine (kernel.test.ts measures it), and a test of their content must not fail on a loaded one.
 */
export const EXPLAIN_TEST_BUDGET_MS = 3000;
