// The page's language for code outside React (a request's error, rendered when its answer arrives).
import type { Msg } from '../../server/protocol/i18n/msg';
import { render, type Locale } from '../../server/protocol/i18n/render';

let current: Locale = 'en';
export const setCurrentLocale = (l: Locale): void => {
  current = l;
};
export const currentLocale = (): Locale => current;
/** A Msg in the page's language now. */
export const say = (m: Msg): string => render(m, current);

/** A UI word outside a component (pure helpers: labels, narration), in the page's language now. */
export const tx = (key: string, values?: Msg['values']): string =>
  render({ key: `ui.${key}`, ...(values && { values }) }, current);
