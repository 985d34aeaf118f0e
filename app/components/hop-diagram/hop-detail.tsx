'use client';
// Everything the kernel told us about the packet at one hop, in the order a kernel engineer reads it.
import { useT } from '../../i18n/use-t';
import type { ReactNode } from 'react';
import type { Hop } from '../../../server/protocol/tracer';
import { dropText, endpoint, icmpTypeName } from '../../../server/protocol/vocab';
import { DIR_LABEL, fmtDelta, programLine } from './format';
import { hopIds, type PathKind } from './test-ids';

function Row({ k, children, mono = true }: { k: string; children: ReactNode; mono?: boolean }) {
  return (
    <>
      <dt className="text-slate-400">{k}</dt>
      <dd className={`${mono ? 'font-mono' : ''} break-all text-slate-100`}>{children}</dd>
    </>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="space-y-1">
      <h4 className="text-sm font-semibold uppercase tracking-wider text-slate-400">{title}</h4>
      <dl className="grid grid-cols-[8.5rem_1fr] gap-x-3 gap-y-1 text-lg">{children}</dl>
    </section>
  );
}

/** Why it went here, and how the hop is known when no tracepoint saw it. */
function ReasonAndInferred({ h }: { h: Hop }) {
  const t = useT('hopDiagram.hopDetail');
  return (
    <>
      {h.reason && (
        <p data-testid={hopIds.detailReason} className="rounded-lg bg-slate-800 px-3 py-2 text-xl text-slate-50">
          {h.reason}
        </p>
      )}
      {h.inferred && (
        <div
          data-testid={hopIds.detailInferred}
          className="rounded-lg border-2 border-dashed border-violet-400 bg-violet-950/50 px-3 py-2 text-lg text-violet-100"
        >
          <div className="font-bold">{t('inferredPeerRedirect')}</div>
          <div>
            {t('noTracepointFiresHere')} <span className="font-mono">{t('bpfRedirectPeer')}</span> {t('at')}{' '}
            <span className="font-mono">{h.inferred.from}</span> {t('handedThePacketStraight')}
          </div>
        </div>
      )}
    </>
  );
}

/** BPF programs attached here, with what each did when it is known. */
function ProgramsSection({ h }: { h: Hop }) {
  const t = useT('hopDiagram.hopDetail');
  if (!h.programs || h.programs.length === 0) return null;
  return (
    <section className="space-y-1">
      <h4 className="text-sm font-semibold uppercase tracking-wider text-slate-400">{t('bpfPrograms')}</h4>
      <ul className="space-y-1 font-mono text-base">
        {h.programs.map((p, i) => (
          <li
            key={`${p.id}-${i}`}
            data-testid={hopIds.detailProgram(i)}
            data-verdict={p.verdict ?? ''}
            className={`rounded px-2 py-1 ${p.verdict === 'dropped' ? 'bg-red-950/60 text-red-200' : 'bg-cyan-950/60 text-cyan-100'}`}
          >
            {programLine(p)}
            <span className="text-slate-400">
              {' '}
              · id {p.id}
              {p.mode ? ` · ${p.mode}` : ''}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** How the packet's life ended here, and the rewrite it met. */
function EndAndNat({ h }: { h: Hop }) {
  const t = useT('hopDiagram.hopDetail');
  return (
    <>
      {h.drop && (
        <div
          className={`rounded-lg border px-3 py-2 text-lg ${h.drop.isRealDrop ? 'border-red-500 bg-red-950/60 text-red-100' : 'border-slate-600 bg-slate-800 text-emerald-200'}`}
        >
          <div className="font-bold">{dropText(h.drop)}</div>
          {h.drop.where && (
            <div className="font-mono text-base">
              {t('at')} {h.drop.where}
            </div>
          )}
          {h.drop.byNetfilter && <div className="text-base">{t('byNetfilter')}</div>}
        </div>
      )}
      {h.nat && (
        <div className="rounded-lg border border-amber-400 bg-amber-950/50 px-3 py-2 text-lg text-amber-100">
          <div className="font-bold">
            {h.nat.kind.toUpperCase()}
            {h.nat.hook && (
              <span className="font-normal text-amber-300">
                {' '}
                {t('after')} {h.nat.hook}
              </span>
            )}
          </div>
          <div className="font-mono">
            {h.nat.from} → {h.nat.to}
          </div>
        </div>
      )}
    </>
  );
}

function IpSection({ h, prev }: { h: Hop; prev: Hop | undefined }) {
  const t = useT('hopDiagram.hopDetail');
  const ttlDelta = prev && prev.ttl !== h.ttl ? t('sincePrevious', { delta: h.ttl - prev.ttl }) : '';
  return (
    <Section title={h.ipv6 ? t('ipv6') : 'IP'}>
      <Row k="src">{endpoint(h.src, h.sport)}</Row>
      <Row k="dst">{endpoint(h.dst, h.dport)}</Row>
      <Row k={h.ipv6 ? t('nextHeader') : t('protocol')}>{h.proto}</Row>
      <Row k={h.ipv6 ? t('hopLimit') : 'TTL'}>
        {h.ttl}
        <span className="text-slate-400">{ttlDelta}</span>
      </Row>
      {h.ipv6 ? (
        <Ipv6Rows h={h} ipv6={h.ipv6} />
      ) : (
        <>
          <Row k={t('ipId')}>
            {h.ipId} <span className="text-slate-400">(0x{h.ipId.toString(16).padStart(4, '0')})</span>
          </Row>
          <Row k={t('totalLen')}>{h.totLen} B</Row>
          <Row k={t('ipOptions')}>{h.ipOptions ? t('present') : t('none')}</Row>
        </>
      )}
      {h.tcpFlags !== undefined && <Row k={t('tcpFlags')}>{h.tcpFlags || t('none2')}</Row>}
      {h.icmp && (
        <Row k="ICMP">
          {t('type')} {h.icmp.type}
          {icmpTypeName(h.proto, h.icmp.type) ? ` ${icmpTypeName(h.proto, h.icmp.type)}` : ''} {t('code')} {h.icmp.code}{' '}
          · id {h.icmp.id} {t('seq')} {h.icmp.seq}
        </Row>
      )}
    </Section>
  );
}

/** What an IPv6 header says beyond IPv4's fields: flow label, extension headers, Cilium's DSR option. */
function Ipv6Rows({ h, ipv6 }: { h: Hop; ipv6: NonNullable<Hop['ipv6']> }) {
  const t = useT('hopDiagram.hopDetail');
  return (
    <>
      <Row k={t('flowLabel')}>
        {ipv6.flowLabel} <span className="text-slate-400">(0x{ipv6.flowLabel.toString(16).padStart(5, '0')})</span>
      </Row>
      <Row k={t('totalLen')}>{h.totLen} B</Row>
      <Row k={t('extHeaders')}>{ipv6.ext.length > 0 ? ipv6.ext.join(', ') : t('none')}</Row>
      {ipv6.dsr && (
        <Row k={t('dsrOption')}>
          [{ipv6.dsr.addr}]:{ipv6.dsr.port}
        </Row>
      )}
    </>
  );
}

/** Netfilter hooks crossed here and, with rules on, the iptables TRACE lines. */
function NetfilterSection({ h }: { h: Hop }) {
  const t = useT('hopDiagram.hopDetail');
  return (
    <>
      {(Boolean(h.netfilter?.length) || h.verdict !== undefined) && (
        <Section title={t('netfilter')}>
          {(h.netfilter ?? []).map((s) => (
            <Row key={s.hook} k={s.hook}>
              <span
                className={
                  s.verdict === 'drop'
                    ? 'font-bold text-red-400'
                    : s.verdict === 'accept'
                      ? 'text-emerald-300'
                      : 'text-slate-300'
                }
              >
                {s.verdict}
              </span>
            </Row>
          ))}
          {h.verdict && (
            <Row k="verdict">
              <span className={h.verdict === 'drop' ? 'font-bold text-red-400' : 'text-emerald-300'}>{h.verdict}</span>
            </Row>
          )}
        </Section>
      )}
      {h.rules && h.rules.length > 0 && (
        <section className="space-y-1">
          <h4 className="text-sm font-semibold uppercase tracking-wider text-slate-400">{t('iptablesRulesTrace')}</h4>
          <ol className="space-y-1 font-mono text-base">
            {h.rules.map((r, i) => (
              <li
                key={i}
                className={`rounded px-2 py-1 ${/DNAT|SNAT|MASQUERADE/.test(r) ? 'bg-amber-950/60 text-amber-200' : /DROP|REJECT/.test(r) ? 'bg-red-950/60 text-red-200' : 'bg-slate-800 text-slate-200'}`}
              >
                {r}
              </li>
            ))}
          </ol>
        </section>
      )}
    </>
  );
}

export function HopDetail({
  hopKey,
  path,
  hop: h,
  prev,
  onClose,
}: {
  hopKey: string;
  path: PathKind;
  hop: Hop;
  prev?: Hop;
  onClose: () => void;
}) {
  const t = useT('hopDiagram.hopDetail');
  return (
    <aside
      data-testid={hopIds.detail}
      data-hop={hopKey}
      className="max-h-[78vh] w-[30rem] space-y-4 overflow-y-auto rounded-xl border border-slate-600 bg-slate-900/95 p-5 shadow-2xl backdrop-blur"
    >
      <header className="flex items-start gap-3">
        <div className="min-w-0 flex-1">
          <div
            className={`text-sm font-semibold uppercase tracking-wider ${path === 'reply' ? 'text-fuchsia-300' : 'text-sky-300'}`}
          >
            {path} {t('hop')} {h.seq} <span className="normal-case">· {fmtDelta(h.tNs)}</span>
          </div>
          <h3 className="truncate text-2xl font-bold">
            {h.netns} · <span className="font-mono">{h.ifname}</span>
          </h3>
          <div className="text-lg text-slate-300">{DIR_LABEL[h.dir]}</div>
        </div>
        <button
          data-testid={hopIds.detailClose}
          onClick={onClose}
          aria-label={t('closeHopDetails')}
          className="rounded px-3 py-1 text-2xl leading-none text-slate-300 hover:bg-slate-700"
        >
          ×
        </button>
      </header>

      <ReasonAndInferred h={h} />

      <EndAndNat h={h} />

      <ProgramsSection h={h} />

      <IpSection h={h} prev={prev} />

      <Section title={t('ethernet')}>
        <Row k="src MAC">{h.srcMac}</Row>
        <Row k="dst MAC">{h.dstMac}</Row>
      </Section>

      <Section title={t('kernel')}>
        <Row k="tracepoint">{h.inferred ? t('noneInferred') : h.hook}</Row>
        <Row k="skb">{h.skb}</Row>
        <Row k="netns">
          {h.netns}{' '}
          <span className="text-slate-400">
            {t('inode')} {h.netnsInode}
          </span>
        </Row>
        <Row k="ifindex">{h.ifindex}</Row>
        <Row k="time">
          {fmtDelta(h.tNs)} <span className="text-slate-400">{t('sinceFirstHop')}</span>
        </Row>
      </Section>

      <NetfilterSection h={h} />
    </aside>
  );
}
