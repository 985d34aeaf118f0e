// The readable tree `packet-journey topology` prints without --json: what `ip a`, `brctl show`,
// `brctl showmacs`, `arp -an` and `ip route` would say, for every namespace at once.
import type { Iface, Namespace, Topology } from '../protocol/topology';

function ifaceLine(f: Iface): string {
  const parts = [f.name.padEnd(14), f.kind.padEnd(8), (f.mac || '-').padEnd(17), (f.up ? f.state : 'DOWN').padEnd(7)];
  if (f.master) parts.push(`master ${f.master}`);
  if (f.peer) parts.push(`<-> ${f.peer.netns}/${f.peer.ifname}`);
  const v4 = f.addrs.filter((a) => !a.includes(':'));
  if (v4.length) parts.push(v4.join(' '));
  return parts.join(' ').trimEnd();
}

function header(n: Namespace): string {
  const extra = [
    n.node ? `on ${n.node}` : '',
    n.container ? `container ${n.container.id.slice(0, 12)} ${n.container.image}` : '',
    n.hostname && n.hostname !== n.name ? `hostname ${n.hostname}` : '',
    n.pid !== undefined ? `pid ${n.pid}` : '',
    `netns inode ${n.inode}`,
  ].filter(Boolean);
  return `${n.name} [${n.kind}] ${extra.join(', ')}`;
}

function nsBlock(n: Namespace, indent: string): string[] {
  const out = [indent + header(n)];
  const pad = indent + '  ';
  const ifs = n.interfaces.filter(
    (f) => f.kind !== 'loopback' || f.addrs.some((a) => !a.startsWith('127.') && a !== '::1/128'),
  );
  for (const f of ifs) {
    out.push(pad + ifaceLine(f));
    // As `bpftool net show` would list them, one line a program under its device.
    for (const p of f.programs ?? [])
      out.push(
        `${pad}  bpf ${p.hook} ${p.name} id ${p.id} tag ${p.tag}${p.mode ? ` ${p.mode}` : ''}${p.pref !== undefined ? ` pref ${p.pref}` : ''}`,
      );
  }
  for (const br of n.interfaces.filter((f) => f.kind === 'bridge')) {
    const ports = n.interfaces.filter((f) => f.master === br.name).map((f) => f.name);
    out.push(`${pad}bridge ${br.name} ports: ${ports.join(' ') || '(none)'}`);
    const rows = (n.fdb ?? []).filter((e) => e.bridge === br.name);
    if (rows.length) {
      out.push(`${pad}  ${'port'.padEnd(14)} ${'mac addr'.padEnd(17)} is local?  ageing timer`);
      for (const e of rows) {
        const age = e.ageing !== undefined ? e.ageing.toFixed(2).padStart(8) : '';
        out.push(
          `${pad}  ${e.port.padEnd(14)} ${e.mac.padEnd(17)} ${(e.local ? 'yes' : 'no').padEnd(10)} ${age}`.trimEnd(),
        );
      }
    }
  }
  const neigh = n.neighbors.filter((x) => x.mac !== undefined || x.state !== 'FAILED');
  for (const x of neigh) out.push(`${pad}neigh ${x.ip} dev ${x.dev} ${x.mac ?? '(incomplete)'} ${x.state}`);
  for (const r of n.routes) {
    const via = r.gateway ? ` via ${r.gateway}` : '';
    const dev = r.dev ? ` dev ${r.dev}` : '';
    const src = r.prefsrc ? ` src ${r.prefsrc}` : '';
    out.push(`${pad}route ${r.dst}${via}${dev}${src}`);
  }
  return out;
}

export function formatTree(t: Topology): string {
  const lines: string[] = [];
  const pods = t.namespaces.filter((n) => n.kind === 'pod' && n.node);
  for (const n of t.namespaces) {
    if (n.kind === 'pod' && n.node) continue; // printed under their node
    lines.push(...nsBlock(n, ''));
    for (const p of pods.filter((p) => p.node === n.name)) lines.push(...nsBlock(p, '    '));
    lines.push('');
  }
  for (const c of t.cgroupPrograms ?? [])
    lines.push(`socket-level bpf: ${c.attachType} ${c.name} id ${c.id} on cgroup ${c.cgroup}`);
  for (const w of t.warnings) lines.push(`warning: ${w}`);
  lines.push(`${t.namespaces.length} namespaces, discovered in ${t.durationMs} ms`);
  return lines.join('\n');
}
