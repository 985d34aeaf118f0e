'use client';
// The page's language: use-intl's provider over both catalogs (a few kB each), so the switch changes
// every label at once, without a reload and without losing a running trace or capture. The choice is
// kept in a cookie the server reads for the next first paint (app/layout.tsx).
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { IntlProvider } from 'use-intl';
import type { Msg } from '../../server/protocol/i18n/msg';
import { CATALOGS, render, type Locale } from '../../server/protocol/i18n/render';
import { LOCALE_COOKIE } from './locale';
import { setCurrentLocale } from './current';

interface LocaleState {
  readonly locale: Locale;
  readonly setLocale: (l: Locale) => void;
}

const LocaleContext = createContext<LocaleState>({ locale: 'en', setLocale: () => undefined });

export const useLocale = (): LocaleState => useContext(LocaleContext);

/** Renders a server Msg (narration, diagnosis, an error) in the page's language. */
export function useMsg(): (m: Msg) => string {
  const { locale } = useLocale();
  return useCallback((m: Msg) => render(m, locale), [locale]);
}

export function I18nProvider({ initialLocale, children }: { initialLocale: Locale; children: ReactNode }) {
  const [locale, set] = useState<Locale>(initialLocale);
  setCurrentLocale(locale);
  const setLocale = useCallback((l: Locale) => {
    set(l);
    setCurrentLocale(l);
    document.documentElement.lang = l;
    document.cookie = `${LOCALE_COOKIE}=${l}; path=/; max-age=31536000; samesite=lax`;
  }, []);
  const value = useMemo(() => ({ locale, setLocale }), [locale, setLocale]);
  return (
    <LocaleContext.Provider value={value}>
      <IntlProvider locale={locale} messages={CATALOGS[locale] as Record<string, unknown>} onError={() => undefined}>
        {children}
      </IntlProvider>
    </LocaleContext.Provider>
  );
}
