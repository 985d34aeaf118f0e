// The structured prefilter of a compiled pcap-filter: a necessary condition in the fields the probe checks
// without the interpreter (protocol, an address that is the source or the destination, a port that is the
// source or destination port, the ICMP echo id), derived from the cBPF itself. The probe checks it on the
// same bytes the program reads and runs the program only on the packets that pass, so an expression that
// matches nothing of the traffic costs what the structured filter costs.
//
// Soundness: every IPv4 packet the program accepts passes the prefilter. The analysis follows the
// forward-only program once, keeping at each instruction the facts true on every path reaching it, and
// what A, X and M[] hold when that is the same on every path. A fact is kept only when its load is at the
// fixed offset of its field for the link type: EN10MB's IPv4 header at 14 (when the EtherType at 12 is
// 0x0800), RAW's at 0 (when the version nibble is 4), the L4 header after it at 4 * (IHL). The probe applies
// the prefilter only to packets with that EtherType or version, so a branch those cannot take (another
// EtherType, IPv6) is left out; anything the analysis does not follow makes it keep less, never more.
import type { Insn } from './pcap-filter';

/** A necessary condition for an IPv4 packet to match; empty: none found (every packet runs the program). */
export interface Prefilter {
  /** No IPv4 packet matches (`vlan`, `arp`, `ip6`, an L2-only expression's missing L3 program). */
  readonly noIpv4?: boolean;
  readonly proto?: number;
  /** At most two, each the source or the destination (network byte order as a 32-bit value). */
  readonly addrs?: readonly number[];
  readonly port?: number;
  readonly icmpId?: number;
}

export type LinkKind = 'en10mb' | 'raw';

/** What a register holds on every path: a load at a fixed place (masked or not), a constant, or unknown. */
type Val =
  | { readonly t: 'abs'; readonly off: number; readonly size: number; readonly mask: number }
  | { readonly t: 'ind'; readonly x: XVal; readonly off: number; readonly size: number; readonly mask: number }
  | { readonly t: 'k'; readonly v: number }
  | { readonly t: '?' };
/** X: 4 * (P[off] & 0xf), an IP header's length; or a constant; or unknown. */
type XVal = { readonly t: 'msh'; readonly off: number } | { readonly t: 'k'; readonly v: number } | { readonly t: '?' };

interface State {
  readonly facts: ReadonlySet<string>;
  readonly a: Val;
  readonly x: XVal;
  readonly m: readonly Val[];
}

const UNKNOWN = { t: '?' } as const;
const full = (size: number): number => (size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
const same = (p: Val | XVal, q: Val | XVal): boolean => JSON.stringify(p) === JSON.stringify(q);

/** Where the fields are for a link type, and the test that makes a packet IPv4 there. */
function layout(kind: LinkKind): { ip: number; v4: Val & { t: 'abs' }; v4Value: number } {
  return kind === 'en10mb'
    ? { ip: 14, v4: { t: 'abs', off: 12, size: 2, mask: 0xffff }, v4Value: 0x0800 }
    : { ip: 0, v4: { t: 'abs', off: 0, size: 1, mask: 0xf0 }, v4Value: 0x40 };
}

/** The fact "A == k" as a field of the prefilter, when A is a load at that field's fixed offset. */
function fieldFact(a: Val, k: number, ip: number): string | undefined {
  if (a.t === 'abs' && a.mask === full(a.size)) {
    if (a.off === ip + 9 && a.size === 1) return `proto:${k}`;
    if ((a.off === ip + 12 || a.off === ip + 16) && a.size === 4) return `addr:${k >>> 0}`;
  }
  if (a.t === 'ind' && a.x.t === 'msh' && a.x.off === ip && a.mask === full(a.size) && a.size === 2) {
    if (a.off === ip || a.off === ip + 2) return `port:${k}`;
    if (a.off === ip + 4) return `icmp:${k}`;
  }
  return undefined;
}

/** A conditional jump's outcome on an IPv4 packet, when A is the IPv4 test's load (else undefined). */
function v4Outcome(code: number, a: Val, k: number, lay: ReturnType<typeof layout>): boolean | undefined {
  if (!same(a, lay.v4) || (code & 0x08) !== 0) return undefined;
  const v = lay.v4Value;
  switch (code & 0xf0) {
    case 0x10:
      return v === k >>> 0;
    case 0x20:
      return v > k >>> 0;
    case 0x30:
      return v >= k >>> 0;
    case 0x40:
      return (v & k) !== 0;
    default:
      return undefined;
  }
}

function merge(p: State, q: State): State {
  return {
    facts: new Set([...p.facts].filter((f) => q.facts.has(f))),
    a: same(p.a, q.a) ? p.a : UNKNOWN,
    x: same(p.x, q.x) ? p.x : UNKNOWN,
    m: p.m.map((v, i) => (same(v, q.m[i] as Val) ? v : UNKNOWN)),
  };
}

/** One instruction's effect on A, X and M[] (jumps and returns change none). */
function step(s: State, i: Insn): State {
  const cls = i.code & 0x07;
  const mode = i.code & 0xe0;
  const size = (i.code & 0x18) === 0x00 ? 4 : (i.code & 0x18) === 0x08 ? 2 : 1;
  const m = [...s.m];
  switch (cls) {
    case 0x00: {
      // ld
      let a: Val = UNKNOWN;
      if (mode === 0x00) a = { t: 'k', v: i.k };
      else if (mode === 0x20) a = { t: 'abs', off: i.k, size, mask: full(size) };
      else if (mode === 0x40) a = { t: 'ind', x: s.x, off: i.k, size, mask: full(size) };
      else if (mode === 0x60) a = s.m[i.k & 15] ?? UNKNOWN;
      return { ...s, a };
    }
    case 0x01: {
      // ldx
      let x: XVal = UNKNOWN;
      if (mode === 0x00) x = { t: 'k', v: i.k };
      else if (mode === 0xa0) x = { t: 'msh', off: i.k };
      else if (mode === 0x60) {
        const v = s.m[i.k & 15];
        x = v?.t === 'k' ? v : UNKNOWN;
      }
      return { ...s, x };
    }
    case 0x02:
      m[i.k & 15] = s.a;
      return { ...s, m };
    case 0x03:
      m[i.k & 15] = s.x.t === 'k' ? s.x : UNKNOWN;
      return { ...s, m };
    case 0x04: {
      // alu: only `and #k` on a load keeps what A is (a masked load); anything else forgets it
      const a = s.a;
      if (i.code === 0x54 && (a.t === 'abs' || a.t === 'ind')) return { ...s, a: { ...a, mask: (a.mask & i.k) >>> 0 } };
      return { ...s, a: UNKNOWN };
    }
    case 0x07:
      // tax / txa
      if ((i.code & 0xf8) === 0x00) return { ...s, x: s.a.t === 'k' ? s.a : UNKNOWN };
      return { ...s, a: s.x.t === 'k' ? s.x : UNKNOWN };
    default:
      return s;
  }
}

type Derived = { readonly none: true } | { readonly none: false; readonly facts: ReadonlySet<string> };

/** The facts true on every path to an accepting return that an IPv4 packet can take. */
function derive(prog: readonly Insn[], kind: LinkKind): Derived {
  if (prog.length === 0) return { none: true };
  const lay = layout(kind);
  const into: (State | undefined)[] = new Array<State | undefined>(prog.length).fill(undefined);
  into[0] = { facts: new Set(), a: UNKNOWN, x: UNKNOWN, m: new Array<Val>(16).fill(UNKNOWN) };
  const reach = (pc: number, s: State): void => {
    const cur = into[pc];
    into[pc] = cur ? merge(cur, s) : s;
  };
  let accepted: Set<string> | undefined;
  for (let pc = 0; pc < prog.length; pc++) {
    const s = into[pc];
    const i = prog[pc];
    if (!s || !i) continue; // no IPv4 packet gets here
    const cls = i.code & 0x07;
    if (cls === 0x06) {
      const rejects = (i.code & 0x18) === 0x10 ? s.a.t === 'k' && s.a.v === 0 : i.k === 0;
      if (!rejects) accepted = accepted ? new Set([...accepted].filter((f) => s.facts.has(f))) : new Set(s.facts);
      continue;
    }
    if (cls !== 0x05) {
      reach(pc + 1, step(s, i));
      continue;
    }
    if (i.code === 0x05) {
      reach(pc + 1 + i.k, s);
      continue;
    }
    const known = v4Outcome(i.code, s.a, i.k, lay);
    if (known !== false) {
      const f = i.code === 0x15 ? fieldFact(s.a, i.k, lay.ip) : undefined;
      reach(pc + 1 + i.jt, f ? { ...s, facts: new Set([...s.facts, f]) } : s);
    }
    if (known !== true) reach(pc + 1 + i.jf, s);
  }
  return accepted ? { none: false, facts: accepted } : { none: true };
}

/**
 * The prefilter of a slot's two programs (each packet runs one of them, so it must hold for both).
 * An empty L3 program (an L2-only expression) matches no packet without a MAC header.
 */
export function derivePrefilter(l2: readonly Insn[], l3: readonly Insn[]): Prefilter {
  const d2 = derive(l2, 'en10mb');
  const d3 = derive(l3, 'raw');
  if (d2.none && d3.none) return { noIpv4: true };
  const facts = d2.none
    ? (d3 as { facts: ReadonlySet<string> }).facts
    : d3.none
      ? d2.facts
      : intersect(d2.facts, d3.facts);
  const values = (name: string): number[] =>
    [...facts].filter((f) => f.startsWith(`${name}:`)).map((f) => Number(f.slice(name.length + 1)));
  const [proto] = values('proto');
  const addrs = values('addr').slice(0, 2);
  const [port] = values('port');
  const [icmpId] = values('icmp');
  return {
    ...(proto !== undefined && { proto }),
    ...(addrs.length > 0 && { addrs }),
    ...(port !== undefined && { port }),
    ...(icmpId !== undefined && { icmpId }),
  };
}

function intersect(p: ReadonlySet<string>, q: ReadonlySet<string>): Set<string> {
  return new Set([...p].filter((f) => q.has(f)));
}

/** An address of the prefilter in dotted form (the loader's syntax). */
export const dotted = (a: number): string => [24, 16, 8, 0].map((s) => (a >>> s) & 0xff).join('.');

/**
 * The probe's check (probes/pcapf.h pre_ok), on a packet's first bytes as the program of `kind` sees them:
 * false only when the packet cannot match. Here for the tests, which run it on what tcpdump captured.
 */
export function prefilterPasses(p: Prefilter, bytes: Uint8Array, kind: LinkKind): boolean {
  const lay = layout(kind);
  const ip = lay.ip;
  if (bytes.length < ip + 20) return true;
  const isV4 =
    kind === 'en10mb' ? ((bytes[12] ?? 0) << 8) + (bytes[13] ?? 0) === 0x0800 : ((bytes[0] ?? 0) & 0xf0) === 0x40;
  if (!isV4) return true;
  if (p.noIpv4) return false;
  const u32 = (o: number): number =>
    (((bytes[o] ?? 0) << 24) | ((bytes[o + 1] ?? 0) << 16) | ((bytes[o + 2] ?? 0) << 8) | (bytes[o + 3] ?? 0)) >>> 0;
  const u16 = (o: number): number => ((bytes[o] ?? 0) << 8) | (bytes[o + 1] ?? 0);
  if (p.proto !== undefined && bytes[ip + 9] !== p.proto) return false;
  for (const a of p.addrs ?? []) if (u32(ip + 12) !== a && u32(ip + 16) !== a) return false;
  if (p.port === undefined && p.icmpId === undefined) return true;
  const l4 = ip + 4 * ((bytes[ip] ?? 0) & 0xf);
  if (bytes.length < l4 + 6) return true;
  if (p.port !== undefined && u16(l4) !== p.port && u16(l4 + 2) !== p.port) return false;
  if (p.icmpId !== undefined && u16(l4 + 4) !== p.icmpId) return false;
  return true;
}
