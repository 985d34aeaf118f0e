// `packet-journey decode <file.pcap|file.pcapng> [--json]`: the decoder, headless.
import { readFile } from 'node:fs/promises';
import { defineCommand, flagHelp, UsageError, type Command } from '../cli-args';
import type { PacketField } from '../protocol/capture';
import { decodeFrame } from './decode';
import { readNamedCaptureFile } from './pcap';

const specs = {
  json: { type: 'boolean', help: 'one JSON object per packet (layers with byte ranges, dsr), as a JSON array' },
  tree: { type: 'boolean', help: 'print every decoded field under each packet line' },
  count: { type: 'number', short: 'c', min: 1, help: 'stop after N packets' },
} as const;

const usage = `usage: packet-journey decode <file.pcap|file.pcapng> [--json] [--tree] [--count N]

Decodes Ethernet, 802.1Q, Linux SLL/SLL2, DLT_NULL/LOOP, NFLOG, ARP, IPv4 (every option), IPv6 (extension
headers), ICMP, ICMPv6, TCP, UDP, IPIP, 6in4, GRE, ERSPAN II/III, MPLS, MACsec, NSH, VXLAN(-GPE), Geneve,
WireGuard, and Cilium's DSR options (IPv4 0x9a in host byte order, IPv6 0x1b, Geneve 0x014b/0x81).

${flagHelp(specs)}`;

function ts(sec: number, nsec: number): string {
  const d = new Date(sec * 1000);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

function printTree(fields: readonly PacketField[], indent: string): void {
  for (const f of fields) {
    process.stdout.write(`${indent}${f.name}${f.value ? `: ${f.value}` : ''}  [${f.start}..${f.end})\n`);
    if (f.children) printTree(f.children, indent + '    ');
  }
}

export const command: Command = defineCommand(specs, usage, async ({ flags, positionals }) => {
  if (positionals.length !== 1) throw new UsageError('expected exactly one file (try --help)');
  const path = positionals[0] as string;
  const buf = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const file = readNamedCaptureFile(buf, path, (m) => new UsageError(m));
  const limit = flags.count ?? Infinity;
  const out = process.stdout;
  if (flags.json) out.write('[\n');
  let n = 0;
  let dsr = 0;
  let malformed = 0;
  for (const r of file.records) {
    if (n >= limit) break;
    const iface = file.interfaces[r.iface];
    const p = decodeFrame(r.data, {
      index: n,
      linktype: iface?.linktype ?? 1,
      tsSec: r.tsSec,
      tsNsec: r.tsNsec,
      len: r.len,
    });
    if (p.dsr) dsr++;
    if (p.malformed) malformed++;
    if (flags.json) {
      const obj = { ...p, interface: iface?.name ?? null, comments: r.comments };
      out.write((n ? ',\n' : '') + JSON.stringify(obj));
    } else {
      out.write(`${ts(p.tsSec, p.tsNsec)}${iface?.name ? ` ${iface.name}` : ''} ${p.summary}\n`);
      if (p.dsr) {
        const d = p.dsr;
        out.write(
          `    DSR: service ${d.addr.includes(':') ? `[${d.addr}]` : d.addr}:${d.port} (${d.encoding}, ${d.byteOrder}; port bytes ${d.portHex}, address bytes ${d.addrHex})\n`,
        );
      }
      for (const c of r.comments) out.write(`    comment: ${c}\n`);
      if (flags.tree)
        for (const l of p.layers) {
          out.write(`  ${l.title}\n`);
          printTree(l.fields, '    ');
        }
    }
    n++;
  }
  if (flags.json) out.write('\n]\n');
  else
    process.stderr.write(
      `${n} packet(s), ${dsr} with DSR, ${malformed} malformed${file.warning ? `; warning: ${file.warning}` : ''}\n`,
    );
  return 0;
});
