export const i18nIds = {
  locale: (l: string) => `locale-${l}`,
} as const;
