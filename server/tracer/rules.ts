// Rule-level netfilter detail: iptables `-j TRACE` rules (tagged with a comment) in the namespaces a
// journey crosses, read with `xtables-monitor --trace` there, matched to the journey's packets by IP id
// and addresses. Every TRACE rule added is removed in stop(), and stale ones from a crash are swept.
import { exec, execOk, inNetns, type NetnsTarget } from '../sys/exec';
import { startProc, type Proc } from '../sys/proc';
import type { TraceProto } from '../protocol/tracer';

export const TRACE_TAG_PREFIX = 'pj-trace-';

export interface TracedPacket {
  readonly ipId: number;
  readonly src: string;
  readonly dst: string;
  readonly lines: string[];
}

export interface RuleTrace {
  /** Removes the rules, stops the monitors and returns what each namespace's tables did, by packet. */
  stop(): Promise<Map<number, TracedPacket[]>>;
}

/** `raw:OUTPUT:rule:0x2:CONTINUE  -4 -t raw -A OUTPUT -p icmp ...` -> `raw OUTPUT -p icmp ...`, skipping our own rule. */
export function formatTraceLine(body: string): string | undefined {
  const m = /^(\w+):([^:]+):(rule|policy|return):(?:0x[0-9a-f]+:)?(\S+)\s*(.*)$/.exec(body.trim());
  if (!m) return undefined;
  const [, table, chain, kind, verdict, rest] = m as unknown as [string, string, string, string, string, string];
  if (rest.includes(TRACE_TAG_PREFIX)) return undefined;
  if (kind === 'return') return undefined;
  if (kind === 'policy')
    return verdict === 'ACCEPT' && table !== 'filter' ? undefined : `${table} ${chain} policy ${verdict}`;
  const rule = rest
    .replace(/^-4\s+/, '')
    .replace(/^-t\s+\S+\s+/, '')
    .replace(/^-A\s+\S+\s*/, '');
  return `${table} ${chain} ${rule || verdict}`.trim();
}

/** Parses xtables-monitor --trace output into packets (keyed by its trace id). */
export function parseTraceOutput(text: string): TracedPacket[] {
  const byId = new Map<string, { ipId: number; src: string; dst: string; lines: string[] }>();
  for (const line of text.split('\n')) {
    const pk = /^PACKET: \d+ ([0-9a-f]+) .*SRC=(\S+) DST=(\S+) .*?ID=(\d+)/.exec(line);
    if (pk) {
      const [, id, src, dst, ipId] = pk as unknown as [string, string, string, string, string];
      if (!byId.has(id)) byId.set(id, { ipId: Number(ipId), src, dst, lines: [] });
      continue;
    }
    const tr = /^\s*TRACE: \d+ ([0-9a-f]+) (.*)$/.exec(line);
    if (tr) {
      const p = byId.get(tr[1] as string);
      const f = formatTraceLine(tr[2] as string);
      if (p && f && p.lines[p.lines.length - 1] !== f) p.lines.push(f);
    }
  }
  return [...byId.values()];
}

function matchArgs(proto: TraceProto, o: { clientPort: number }): string[][] {
  if (proto === 'icmp') return [['-p', 'icmp']];
  return [
    ['-p', proto, '--sport', String(o.clientPort)],
    ['-p', proto, '--dport', String(o.clientPort)],
  ];
}

/** Removes every TRACE rule we tagged in this namespace's raw table (also leftovers of a crashed run). */
export async function sweepTraceRules(target: NetnsTarget): Promise<number> {
  const r = await exec(inNetns(target, 'iptables-save', ['-t', 'raw']));
  if (r.code !== 0) return 0;
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('-A ') || !line.includes(TRACE_TAG_PREFIX)) continue;
    // iptables-save prints the rule as `-A CHAIN spec`; the same spec after -D deletes it.
    const spec =
      line
        .slice(3)
        .match(/"[^"]*"|\S+/g)
        ?.map((t) => t.replace(/^"|"$/g, '')) ?? [];
    const res = await exec(inNetns(target, 'iptables', ['-t', 'raw', '-D', ...spec]));
    if (res.code === 0) n++;
  }
  return n;
}

export async function startRuleTrace(
  targets: readonly { target: NetnsTarget; inode: number }[],
  o: { proto: TraceProto; clientPort: number; icmpId: number; tag: string },
): Promise<RuleTrace> {
  const comment = `${TRACE_TAG_PREFIX}${o.tag}`;
  const monitors: { inode: number; proc: Proc; out: string[] }[] = [];
  const added: { target: NetnsTarget; args: string[] }[] = [];
  for (const t of targets) {
    const out: string[] = [];
    const proc = startProc(inNetns(t.target, 'xtables-monitor', ['--trace']), {
      stdout: { lines: (l) => out.push(l) },
    });
    monitors.push({ inode: t.inode, proc, out });
    for (const chain of ['PREROUTING', 'OUTPUT']) {
      for (const m of matchArgs(o.proto, o)) {
        const spec = [chain, ...m, '-m', 'comment', '--comment', comment, '-j', 'TRACE'];
        try {
          await execOk(inNetns(t.target, 'iptables', ['-t', 'raw', '-I', ...spec.slice(0, 1), '1', ...spec.slice(1)]));
          added.push({ target: t.target, args: spec });
        } catch {
          // A namespace without iptables support: no rule detail there, the hop trace still works.
        }
      }
    }
  }
  // xtables-monitor subscribes asynchronously; give it a moment before the packet is sent.
  await new Promise((r) => setTimeout(r, 150));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 50));
      for (const a of added) await exec(inNetns(a.target, 'iptables', ['-t', 'raw', '-D', ...a.args]));
      const result = new Map<number, TracedPacket[]>();
      // Its exit means its stdout is drained: every trace line it printed is in `out`.
      await Promise.all(monitors.map((m) => m.proc.stop()));
      for (const m of monitors) result.set(m.inode, parseTraceOutput(m.out.join('\n')));
      return result;
    },
  };
}
