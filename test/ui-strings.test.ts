// No user-visible English left in the app's JSX, and every key the app names is in both catalogs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGS, patternOf } from '../server/protocol/i18n/render';
import { literalsIn, uiLiterals, usedKeys } from './ui-strings';

const ROOT = join(import.meta.dirname, '..');

describe('UI strings', () => {
  it('no component has hard-coded text: JSX text, string children, ternaries, read attributes', () => {
    expect(uiLiterals(ROOT)).toEqual([]);
  });

  it('the check finds what it should, and lets names and units through', () => {
    const src = `export function X({ on }: { on: boolean }) {
      return (<div title="close the panel" aria-label={'zoom in'}>
        Hops so far {on ? 'running' : 'stopped'} {\`seen \${1} times\`}
        <span>ICMP · TCP · 12 ms</span><span>{t('ok')}</span><i className="text-red-500 font-bold" />
      </div>);
    }`;
    expect(literalsIn('x.tsx', src).map((l) => l.text)).toEqual([
      'close the panel',
      'zoom in',
      'Hops so far',
      'running',
      'stopped',
      'seen   times',
    ]);
  });

  it('every key the app asks for exists in English and French', () => {
    const used = usedKeys(ROOT);
    expect(used.length).toBeGreaterThan(300);
    const missing = used.flatMap(({ file, key }) =>
      (['en', 'fr'] as const)
        .filter((l) => patternOf(CATALOGS[l], key) === undefined)
        .map((l) => `${file} ${l}:${key}`),
    );
    expect(missing).toEqual([]);
  });
});
