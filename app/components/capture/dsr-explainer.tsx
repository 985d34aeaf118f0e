'use client';
// Seed 000 on screen: the option's bytes, then how they are read (little-endian for Cilium's IPv4 option,
// network order for the IPv6 and Geneve forms), then the decimal values and the service address.
import { useT } from '../../i18n/use-t';
import type { DsrInfo } from '../../../server/protocol/capture';
import { captureIds } from './test-ids';

const pairs = (hex: string): string[] => hex.match(/../g) ?? [];

function Bytes({ hex, tone }: { hex: string; tone: string }) {
  return (
    <span className="inline-flex gap-1">
      {pairs(hex).map((b, i) => (
        <span key={i} className={`rounded px-1.5 py-0.5 font-mono ${tone}`}>
          {b}
        </span>
      ))}
    </span>
  );
}

export function DsrExplainer({
  dsr,
  frameHex,
  onHighlight,
}: {
  dsr: DsrInfo;
  frameHex: string;
  onHighlight: (r: readonly [number, number]) => void;
}) {
  const t = useT('capture.dsrExplainer');
  const le = dsr.byteOrder === 'little-endian';
  const read = (hex: string): string => (le ? pairs(hex).reverse().join('') : hex);
  const portRead = read(dsr.portHex);
  const addrRead = read(dsr.addrHex);
  const optionHex = frameHex.slice(dsr.option[0] * 2, dsr.option[1] * 2);
  const v4 = !dsr.addr.includes(':');
  const svc = v4 ? `${dsr.addr}:${dsr.port}` : `[${dsr.addr}]:${dsr.port}`;
  const where =
    dsr.encoding === 'ipv4-option' ? t('whereV4') : dsr.encoding === 'ipv6-destopt' ? t('whereV6') : t('whereGeneve');
  const head = dsr.encoding === 'ipv4-option' ? optionHex.slice(0, 4) : '';

  return (
    <section
      data-testid={captureIds.dsr}
      className="space-y-3 rounded-lg border-2 border-fuchsia-500/70 bg-fuchsia-950/30 p-4 text-lg"
    >
      <h3 className="text-xl font-bold text-fuchsia-200">{t('dsrWhereThisPacket')}</h3>
      <ol className="list-decimal space-y-3 pl-6">
        <li>
          <button className="text-left underline decoration-dotted" onClick={() => onHighlight(dsr.option)}>
            {t('theBytes')}
            {where}):
          </button>{' '}
          <span className="inline-flex flex-wrap gap-2">
            {head && <Bytes hex={head} tone="bg-slate-700 text-slate-200" />}
            <Bytes hex={dsr.portHex} tone="bg-amber-500/30 text-amber-200" />
            <Bytes hex={dsr.addrHex} tone="bg-sky-500/30 text-sky-200" />
          </span>
          <div className="text-base text-slate-400">
            {head && t('type0x9aLength8')}
            <span className="text-amber-300">{t('port')}</span> {t('then')}{' '}
            <span className="text-sky-300">{t('address')}</span>
            {dsr.encoding !== 'ipv4-option' && t('addressFirstInThis')}
          </div>
        </li>
        <ReadStep dsr={dsr} portRead={portRead} addrRead={addrRead} />
        <li>
          {t('decimal')}{' '}
          <span className="font-mono text-amber-200">
            0x{portRead} = {dsr.port}
          </span>
          {v4 && (
            <>
              ,{' '}
              <span className="font-mono text-sky-200">
                {pairs(addrRead)
                  .map((b) => `${b}=${parseInt(b, 16)}`)
                  .join(' ')}
              </span>
            </>
          )}
        </li>
        <li>
          {t('service')}{' '}
          <span
            data-testid={captureIds.dsrResult}
            className="rounded bg-fuchsia-600 px-2 py-0.5 font-mono text-xl font-bold text-white"
          >
            {svc}
          </span>
        </li>
      </ol>
    </section>
  );
}

/** Step 2: the byte order the values are read in, and what they read as. */
function ReadStep({ dsr, portRead, addrRead }: { dsr: DsrInfo; portRead: string; addrRead: string }) {
  const t = useT('capture.dsrExplainer');
  const le = dsr.byteOrder === 'little-endian';
  return (
    <li>
      {le ? (
        <>
          {t('readThem')} <b>{t('littleEndian')}</b> {t('x86HostOrderCilium')} <code>{t('htonl')}</code>
          {t('sValuesThatAre')}{' '}
          <span className="font-mono text-amber-200">
            {pairs(dsr.portHex).join(' ')} → 0x{portRead}
          </span>
          ,{' '}
          <span className="font-mono text-sky-200">
            {pairs(dsr.addrHex).join(' ')} → 0x{addrRead}
          </span>
        </>
      ) : (
        <>
          {t('readThemIn')} <b>{t('networkOrder')}</b> {t('bigEndian')}{' '}
          <span className="font-mono text-amber-200">0x{portRead}</span>,{' '}
          <span className="font-mono text-sky-200">0x{addrRead}</span>
        </>
      )}
    </li>
  );
}
