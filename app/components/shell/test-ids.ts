export const shellIds = {
  connection: 'connection-state',
  tab: (name: string) => `tab-${name}`,
} as const;
