'use client';
// The one way components get their words: `const t = useT('hopDiagram')`, then `t('key')`. The words
// are in server/protocol/i18n/{en,fr}.json under `ui.<namespace>`.
import { useTranslations } from 'use-intl';

export const useT = (namespace: string) =>
  useTranslations(`ui.${namespace}` as never) as unknown as (
    key: string,
    values?: Record<string, string | number>,
  ) => string;
