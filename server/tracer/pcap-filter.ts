// pcap-filter expressions for the probe: compiled by libpcap through `tcpdump -ddd` (which captures run
// already) on a dead savefile of each link type, parsed and checked here (the process boundary), and sent
// to the loader as the slot's two cBPF programs: EN10MB for packets with a MAC header, RAW from the IP
// header (journey.bpf.c picks one per packet and interprets it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILTER_EXPR_MAX } from '../protocol/tracer';
import { UserError } from '../sys/errors';
import { exec } from '../sys/exec';
import { canonicalIp, isIpv4, isIpv6 } from '../protocol/vocab';
import { derivePrefilter, type Prefilter } from './pcap-prefilter';

/** probes/event.h PJ_MAX_INSNS: the most instructions one program of a slot may have. */
export const MAX_INSNS = 512;
/** The longest expression accepted (the wire contract's bound). */
export const MAX_EXPR = FILTER_EXPR_MAX;

export class FilterError extends UserError {}

/** One struct sock_filter. */
export interface Insn {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export interface CompiledFilter {
  readonly expr: string;
  readonly l2: readonly Insn[];
  /** Empty when the expression needs a link layer (`ether host …`, `vlan`): no L3 packet matches it. */
  readonly l3: readonly Insn[];
  /** What the probe checks before running them (pcap-prefilter.ts). */
  readonly pre: Prefilter;
}

// The opcodes the probe's interpreter runs (linux/filter.h); anything else is refused before it gets there.
const SIZES = [0x00, 0x08, 0x10]; // W, H, B
const OPCODES = new Set<number>([
  ...SIZES.flatMap((s) => [0x20 | s, 0x40 | s]), // ld [k], ld [x + k]
  0x00, // ld #k
  0x80, // ld #len
  0x60, // ld M[k]
  0x01, // ldx #k
  0x81, // ldx #len
  0x61, // ldx M[k]
  0xb1, // ldxb 4*([k]&0xf)
  0x02, // st M[k]
  0x03, // stx M[k]
  ...[0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0].flatMap((op) => [0x04 | op, 0x0c | op]), // alu k, x
  0x84, // neg
  0x05, // ja
  ...[0x10, 0x20, 0x30, 0x40].flatMap((op) => [0x05 | op, 0x0d | op]), // jeq jgt jge jset, k and x
  0x06, // ret #k
  0x16, // ret a
  0x07, // tax
  0x87, // txa
]);
/** Linux's ancillary loads (SKF_AD_OFF and beyond): only a live capture's compiler emits them. */
const SKF_AD_OFF = 0xfffff000;

/**
 * `tcpdump -ddd` output: a count, then `code jt jf k` per line. Returns the program, or throws on
 * anything the interpreter would not run exactly as libpcap means it.
 */
export function parseProgram(text: string): Insn[] {
  const lines = text.trim().split('\n');
  const n = Number(lines[0]);
  if (!Number.isInteger(n) || n < 1 || lines.length !== n + 1) throw new FilterError('unreadable compiled filter');
  if (n > MAX_INSNS)
    throw new FilterError(
      `filter too long: ${n} BPF instructions, the probe's limit is ${MAX_INSNS} per program (simplify the expression)`,
    );
  const prog = lines.slice(1).map((l, pc): Insn => {
    const f = l.trim().split(/\s+/).map(Number);
    const [code, jt, jf, k] = f as [number, number, number, number];
    if (f.length !== 4 || !f.every((x) => Number.isInteger(x) && x >= 0))
      throw new FilterError(`unreadable compiled filter at instruction ${pc}`);
    if (code > 0xffff || jt > 255 || jf > 255 || k > 0xffffffff)
      throw new FilterError(`compiled filter out of range at instruction ${pc}`);
    if (!OPCODES.has(code)) throw new FilterError(`unsupported BPF opcode 0x${code.toString(16)} at instruction ${pc}`);
    if ((code & 0x07) <= 0x01 && (code & 0xe0) === 0x20 && k >= SKF_AD_OFF)
      throw new FilterError(`unsupported ancillary BPF load at instruction ${pc}`);
    if ((code & 0x07) === 0x05) {
      const far = code === 0x05 ? pc + 1 + k : pc + 1 + Math.max(jt, jf);
      if (far >= n) throw new FilterError(`compiled filter jumps out of the program at instruction ${pc}`);
    }
    return { code, jt, jf, k };
  });
  const last = prog[n - 1] as Insn;
  if ((last.code & 0x07) !== 0x06) throw new FilterError('compiled filter does not end with a return');
  return prog;
}

/** The loader's encoding: 16 hex digits per instruction. */
export function progHex(p: readonly Insn[]): string {
  const h = (v: number, w: number): string => v.toString(16).padStart(w, '0');
  return p.map((i) => h(i.code, 4) + h(i.jt, 2) + h(i.jf, 2) + h(i.k >>> 0, 8)).join('');
}

// Dead savefiles, one per link type: `tcpdump -r` compiles for the file's link type without a device.
let savefiles: { en10mb: string; raw: string } | undefined;
function deadSavefiles(): { en10mb: string; raw: string } {
  if (savefiles) return savefiles;
  const dir = mkdtempSync(join(tmpdir(), 'pj-pcap-'));
  const header = (linktype: number): Buffer => {
    const b = Buffer.alloc(24);
    b.writeUInt32LE(0xa1b2c3d4, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeUInt32LE(262144, 16);
    b.writeUInt32LE(linktype, 20);
    return b;
  };
  const f = { en10mb: join(dir, 'en10mb.pcap'), raw: join(dir, 'raw.pcap') };
  writeFileSync(f.en10mb, header(1)); // LINKTYPE_ETHERNET
  writeFileSync(f.raw, header(101)); // LINKTYPE_RAW
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  savefiles = f;
  return f;
}

/** libpcap's complaint, in one line: tcpdump's last stderr line without its banner and prefix. */
function pcapError(stderr: string, code: number | null): string {
  const why = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('reading from file'))
    .pop();
  return (why ?? `tcpdump exit ${code}`).replace(/^tcpdump: /, '');
}

async function compileFor(file: string, expr: string): Promise<{ prog: Insn[] } | { error: string }> {
  // The expression is one argv element after `--`: never an option, never through a shell.
  const r = await exec(['tcpdump', '-ddd', '-r', file, ...(expr ? ['--', expr] : [])], { timeoutMs: 10_000 });
  if (r.code !== 0) return { error: pcapError(r.stderr, r.code) };
  return { prog: parseProgram(r.stdout) };
}

const cache = new Map<string, Promise<CompiledFilter>>();
const CACHE_MAX = 64;

/**
 * Compiles an expression for both link types. A bad one throws FilterError with libpcap's message; one
 * that needs a link layer compiles for EN10MB only (packets without a MAC header then never match).
 */
export function compileFilter(expr: string): Promise<CompiledFilter> {
  const e = expr.trim();
  if (e.length > MAX_EXPR) return Promise.reject(new FilterError(`filter longer than ${MAX_EXPR} characters`));
  if (/[\0\n\r]/.test(e)) return Promise.reject(new FilterError('filter has a control character'));
  const hit = cache.get(e);
  if (hit) return hit;
  const p = (async (): Promise<CompiledFilter> => {
    const f = deadSavefiles();
    const [l2, l3] = await Promise.all([compileFor(f.en10mb, e), compileFor(f.raw, e).catch(() => ({ error: '' }))]);
    if ('error' in l2) throw new FilterError(`bad filter: ${l2.error}`);
    const l3prog = 'prog' in l3 ? l3.prog : [];
    return { expr: e, l2: l2.prog, l3: l3prog, pre: derivePrefilter(l2.prog, l3prog) };
  })();
  cache.set(e, p);
  p.catch(() => cache.delete(e));
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return p;
}

/** The structured filter's fields, as a follow or a live view's shortcuts give them. */
export interface FilterSugar {
  readonly proto?: number;
  readonly addrs?: readonly string[];
  readonly port?: number;
  readonly icmpId?: number;
}

// libpcap's `tcp`/`udp` match IPv4 and IPv6 alike; ICMPv6 has its own number (58) and name.
const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6' };

/**
 * The structured filter as a pcap-filter expression, ANDed with `expr` when both are given: one filter
 * path in the kernel. Nothing at all is the empty expression (every packet). Addresses are IPv4 or IPv6
 * (the wire contract checks them; each picks its family: `ip host`, `ip6 host`).
 */
export function sugarExpression(s: FilterSugar, expr?: string): string {
  const parts: string[] = [];
  const proto = s.proto === undefined ? undefined : (PROTO_NAMES[s.proto] ?? `ip proto ${s.proto & 0xff}`);
  if (proto) parts.push(proto);
  for (const a of s.addrs ?? []) {
    if (isIpv4(a)) parts.push(`ip host ${a}`);
    else if (isIpv6(a)) parts.push(`ip6 host ${canonicalIp(a)}`);
    else throw new FilterError(`not an IPv4 or IPv6 address: ${a}`);
  }
  // Without a protocol, `port` is libpcap's tcp-or-udp port over IPv4 and IPv6 (the lab is dual-stack).
  if (s.port !== undefined) parts.push(`port ${s.port & 0xffff}`);
  // The echo identifier, as the structured filter matched it: requests and replies, first fragments only
  // (ICMPv6: right after the fixed header, libpcap's icmp6[] indexes there).
  if (s.icmpId !== undefined)
    parts.push(
      proto === 'icmp6'
        ? `icmp6[4:2] == ${s.icmpId & 0xffff}`
        : `${proto === 'icmp' ? '' : 'icmp and '}icmp[4:2] == ${s.icmpId & 0xffff}`,
    );
  const e = expr?.trim();
  if (e) parts.unshift(parts.length > 0 ? `(${e})` : e);
  return parts.join(' and ');
}
