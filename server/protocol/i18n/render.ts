// Renders Msgs with the catalogs through use-intl's core (the same ICU formatter the browser's
// useTranslations uses). English is the one source of the English words: `reason`, `diagnosis`, the CLI
// and every `error` string are `en()` of the Msg sent next to them.
import { parse, TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser';
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

/**
 * The text of a pattern made only of literal text and plain `{name}` arguments with string or integer
 * values, which ICU puts in as they are (catalogs.test.ts checks it against use-intl for every such key);
 * undefined for anything else (plurals, selects, typed arguments, tags, fractions), which the formatter
 * renders. Only the parser runs here: the formatter's first use costs a CLI call ~18 ms (Intl's locale
 * data), and the scenario texts every `lab status` renders at load need none of it.
 */
export function simpleText(pattern: string, values: Readonly<Record<string, string | number>>): string | undefined {
  let els = parsed.get(pattern);
  if (els === undefined) {
    try {
      els = parse(pattern);
    } catch {
      els = null; // the formatter reports it
    }
    parsed.set(pattern, els);
  }
  if (els === null) return undefined;
  let text = '';
  for (const e of els) {
    if (e.type === TYPE.literal) text += e.value;
    else if (e.type !== TYPE.argument) return undefined;
    else {
      const v = values[e.value];
      if (typeof v === 'string') text += v;
      else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) text += String(v);
      else return undefined;
    }
  }
  return text;
}
const parsed = new Map<string, MessageFormatElement[] | null>();

/** The English text of a Msg: what the CLI prints and what `reason`/`diagnosis`/`error` hold. */
export const en = (m: Msg): string => render(m, 'en');

/** The key of a schema's own zod message, found by its English text in the `zod` section. */
const zodKeys = new Map(
  Object.entries((enCatalog as { zod?: Record<string, string> }).zod ?? {}).map(([k, text]) => [text, `zod.${k}`]),
);
export const zodKey = (message: string): string | undefined => zodKeys.get(message);
