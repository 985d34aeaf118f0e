// A message on the wire: a catalog key and its values, which may be messages themselves. The server says
// what happened as a Msg; each client renders it in its language (the CLI and `reason` strings in English).
// Isomorphic: the app, the server and the CLI import this.
import { z } from 'zod';

export type MsgValue = string | number | Msg;
export type Msg = { readonly key: string; readonly values?: { readonly [name: string]: MsgValue } };

export const Msg: z.ZodType<Msg> = z.lazy(() =>
  z.object({
    key: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    values: z.record(z.string(), z.union([z.string(), z.number(), Msg])).optional(),
  }),
);

export const msg = (key: string, values?: Msg['values']): Msg => (values ? { key, values } : { key });

export const isMsg = (v: unknown): v is Msg =>
  typeof v === 'object' && v !== null && typeof (v as { key?: unknown }).key === 'string';

/** Every key a message uses, nested ones included (the catalog test checks each exists). */
export function msgKeys(m: Msg): string[] {
  return [m.key, ...Object.values(m.values ?? {}).flatMap((v) => (isMsg(v) ? msgKeys(v) : []))];
}
