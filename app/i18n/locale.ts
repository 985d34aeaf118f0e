// Which language the page speaks: the `pj-locale` cookie (set by the switch), else the browser's
// Accept-Language, else English. No i18n routing: the URL stays `/` and the cookie lets the server
// render the first paint in the right language, with no flash of English.
import { isLocale, type Locale } from '../../server/protocol/i18n/render';

export const LOCALE_COOKIE = 'pj-locale';

/** The first of Accept-Language's languages we speak (`fr-CH,fr;q=0.9,en;q=0.8` -> fr). */
export function fromAcceptLanguage(header: string | null | undefined): Locale | undefined {
  const langs = (header ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = Number(
        params
          .find((p) => p.trim().startsWith('q='))
          ?.trim()
          .slice(2) ?? 1,
      );
      return { lang: tag.toLowerCase().split('-')[0] ?? '', q: Number.isFinite(q) ? q : 0 };
    })
    .filter((l) => l.q > 0)
    .sort((a, b) => b.q - a.q);
  return langs.map((l) => l.lang).find(isLocale);
}

export const pickLocale = (cookie: string | undefined, acceptLanguage: string | null | undefined): Locale =>
  isLocale(cookie) ? cookie : (fromAcceptLanguage(acceptLanguage) ?? 'en');
