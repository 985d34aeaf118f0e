// The packet's fields shown beside the diagram for the current step, as rows (name, label, value,
// tone). Pure: the same words as the diagram and the CLI, from the shared vocabulary.
import { tx } from '../../i18n/current';
import type { Hop, SocketRewrite } from '../../../server/protocol/tracer';
import { dropLine, flowLine, packetKind, verdictText } from '../../../server/protocol/vocab';
import { programLine } from '../hop-diagram/format';

export type FieldTone = 'plain' | 'nat' | 'drop' | 'ok' | 'prog';

export interface FieldRow {
  /** Stable, for test ids: flow, proto, ttl, mac, nat, verdict, prog-0, end, rule-0… */
  readonly name: string;
  readonly label: string;
  readonly value: string;
  readonly tone: FieldTone;
}

export function hopFields(h: Hop, prev?: Hop): FieldRow[] {
  const rows: FieldRow[] = [];
  const add = (name: string, label: string, value: string, tone: FieldTone = 'plain') =>
    rows.push({ name, label, value, tone });
  add('flow', tx('fields.addresses'), flowLine(h));
  const kind = packetKind(h);
  add('proto', tx('fields.protocol'), kind ? `${h.proto} · ${kind}` : h.proto);
  const ttlDelta = prev && prev.ttl !== h.ttl ? ` (${h.ttl - prev.ttl})` : '';
  add('ttl', 'TTL', `${h.ttl}${ttlDelta}`);
  add('mac', 'MAC', `${h.srcMac} → ${h.dstMac}`);
  if (h.nat) add('nat', 'NAT', `${h.nat.kind.toUpperCase()} ${h.nat.from} → ${h.nat.to}`, 'nat');
  const verdict = verdictText(h) ?? (h.verdict ? h.verdict.toUpperCase() : undefined);
  if (verdict) add('verdict', tx('fields.verdict'), verdict, h.verdict === 'drop' ? 'drop' : 'ok');
  (h.programs ?? []).forEach((p, i) =>
    add(`prog-${i}`, i === 0 ? tx('fields.programs') : '', programLine(p), p.verdict === 'dropped' ? 'drop' : 'prog'),
  );
  (h.rules ?? []).forEach((r, i) =>
    add(`rule-${i}`, i === 0 ? tx('fields.rules') : '', r, /DNAT|SNAT|MASQ/.test(r) ? 'nat' : 'plain'),
  );
  if (h.drop)
    add(
      'end',
      h.drop.isRealDrop ? tx('fields.dropped') : tx('fields.end'),
      dropLine(h.drop),
      h.drop.isRealDrop ? 'drop' : 'ok',
    );
  return rows;
}

export function socketFields(r: SocketRewrite): FieldRow[] {
  return [
    { name: 'call', label: tx('fields.call'), value: `${r.call}()`, tone: 'plain' },
    { name: 'from', label: tx('fields.askedFor'), value: r.from, tone: 'plain' },
    { name: 'to', label: tx('fields.became'), value: r.to, tone: 'nat' },
    ...(r.program ? [{ name: 'prog-0', label: tx('fields.program'), value: r.program, tone: 'prog' as const }] : []),
  ];
}
