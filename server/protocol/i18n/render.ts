// Renders Msgs with the catalogs through use-intl's core (the same ICU formatter the browser's
// useTranslations uses). English is the one source of the English words: `reason`, `diagnosis`, the CLI
// and every `error` string are `en()` of the Msg sent next to them.
import { createTranslator } from 'use-intl/core';
import enCatalog from './en.json' with { type: 'json' };
import frCatalog from './fr.json' with { type: 'json' };
import { isMsg, type Msg } from './msg';

export const LOCALES = ['en', 'fr'] as const;
export type Locale = (typeof LOCALES)[number];
export const CATALOGS: Record<Locale, object> = { en: enCatalog, fr: frCatalog };
export const isLocale = (s: unknown): s is Locale => s === 'en' || s === 'fr';

type Translate = (key: string, values?: Record<string, string | number>) => string;

const translators = new Map<Locale, Translate>();
function translator(locale: Locale): Translate {
  let t = translators.get(locale);
  if (!t) {
    // An unknown key renders as the key itself, never throws (the catalog tests keep that from happening).
    t = createTranslator({ locale, messages: CATALOGS[locale], onError: () => {} }) as unknown as Translate;
    translators.set(locale, t);
  }
  return t;
}

/** The ICU pattern of `key` in a catalog, if it has one. */
export function patternOf(catalog: object, key: string): string | undefined {
  let node: unknown = catalog;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return typeof node === 'string' ? node : undefined;
}

/** A Msg as text in `locale`: nested messages first, then the ICU pattern of its key (English if absent). */
export function render(m: Msg, locale: Locale): string {
  const own = patternOf(CATALOGS[locale], m.key);
  const loc = own === undefined ? 'en' : locale;
  const values: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(m.values ?? {})) values[k] = isMsg(v) ? render(v, locale) : v;
  const pattern = own ?? (locale === 'en' ? undefined : patternOf(CATALOGS.en, m.key));
  return (pattern !== undefined && simpleText(pattern, values)) || translator(loc)(m.key, values);
}

const SIMPLE_ARG = /\{([A-Za-z0-9_]+)\}/g;
/** What ICU (and use-intl's tags) give a meaning to, once the simple `{name}` arguments are taken out. */
const ICU_SYNTAX = /[{}#'<>]/;

/**
 * The text of a pattern whose only syntax is `{name}` arguments with string or integer values, which
 * ICU puts in as they are (catalogs.test.ts checks it against use-intl for every such key), else
 * undefined. The formatter's first use costs a CLI call ~18 ms (Intl's locale data); the scenario texts
 * rendered at every `lab status` need none of it.
 */
export function simpleText(pattern: string, values: Readonly<Record<string, string | number>>): string | undefined {
  if (ICU_SYNTAX.test(pattern.replace(SIMPLE_ARG, ''))) return undefined;
  let ok = true;
  const text = pattern.replace(SIMPLE_ARG, (_, name: string) => {
    const v = values[name];
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
    ok = false;
    return '';
  });
  return ok ? text : undefined;
}

/** The English text of a Msg: what the CLI prints and what `reason`/`diagnosis`/`error` hold. */
export const en = (m: Msg): string => render(m, 'en');

/** The key of a schema's own zod message, found by its English text in the `zod` section. */
const zodKeys = new Map(
  Object.entries((enCatalog as { zod?: Record<string, string> }).zod ?? {}).map(([k, text]) => [text, `zod.${k}`]),
);
export const zodKey = (message: string): string | undefined => zodKeys.get(message);
