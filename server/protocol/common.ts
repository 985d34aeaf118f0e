// Pieces every capability's wire contract uses. Isomorphic: no node:* imports in server/protocol/.
import { z } from 'zod';
import { isMsg, msg, type Msg } from './i18n/msg';
import { en, zodKey } from './i18n/render';

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

/**
 * Every request with an ack answers with one of these, so the UI can show the one-line error. `msg`, when
 * present, is the same error as a message for the UI to say in its language; `error` is its English.
 */
export type Ack<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly msg?: Msg };
export type AckFn<T> = (r: Ack<T>) => void;

export const ok = <T>(value: T): Ack<T> => ({ ok: true, value });
/** A refusal: a plain English line, or a Msg (then `error` is its English rendering). */
export const fail = <T = never>(error: string | Msg, m?: Msg): Ack<T> =>
  isMsg(error) ? { ok: false, error: en(error), msg: error } : { ok: false, error, ...(m && { msg: m }) };

/** First zod issue as one line, e.g. `iface: not a valid interface name`. */
export const issueLine = (err: z.ZodError): string => en(issueMsg(err));

/**
 * The same as a message. The schemas' own messages (`not a valid interface name`) are keyed in the
 * catalog's `zod` section by their English text; zod's built-in ones are framed, their text as it came.
 */
export function issueMsg(err: z.ZodError): Msg {
  const i = err.issues[0];
  if (!i) return msg('err.invalid');
  const key = zodKey(i.message);
  const detail = key ? msg(key) : i.message;
  return i.path.length ? msg('err.field', { path: i.path.join('.'), detail }) : msg('err.detail', { detail });
}
