'use client';
// EN | FR in the header (also in projector mode): the page's language, remembered in a cookie.
import { LOCALES } from '../../server/protocol/i18n/render';
import { useLocale } from './provider';
import { i18nIds } from './test-ids';
import { useT } from './use-t';

export function LocaleSwitch() {
  const { locale, setLocale } = useLocale();
  const t = useT('shell');
  return (
    <div role="group" aria-label={t('language')} className="flex overflow-hidden rounded border border-slate-600">
      {LOCALES.map((l) => (
        <button
          key={l}
          data-testid={i18nIds.locale(l)}
          aria-pressed={locale === l}
          title={t(`languageName.${l}`)}
          onClick={() => setLocale(l)}
          className={`px-2 py-1 text-sm font-semibold uppercase ${locale === l ? 'bg-sky-600 text-white' : 'text-slate-300 hover:bg-slate-800'}`}
        >
          {l}
        </button>
      ))}
    </div>
  );
}
