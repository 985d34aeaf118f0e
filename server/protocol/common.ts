// Pieces every capability's wire contract uses. Isomorphic: no node:* imports in server/protocol/.
import { z } from 'zod';

/** Linux interface and netns names: what iproute2 accepts, and nothing a path or shell could abuse. */
export const IfName = z
  .string()
  .min(1)
  .max(15)
  .regex(/^[A-Za-z0-9_.@:-]+$/, 'not a valid interface name');
export const NetnsName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'not a valid namespace name')
  .refine((s) => s !== '.' && s !== '..', 'not a valid namespace name');

/** Every request with an ack answers with one of these, so the UI can show the one-line error. */
export type Ack<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };
export type AckFn<T> = (r: Ack<T>) => void;

export const ok = <T>(value: T): Ack<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Ack<T> => ({ ok: false, error });

/** First zod issue as one line, e.g. `iface: not a valid interface name`. */
export function issueLine(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid input';
  const path = i.path.length ? `${i.path.join('.')}: ` : '';
  return `${path}${i.message}`;
}
