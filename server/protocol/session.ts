// A page's session: a random key the page makes once (128 bits, hex) and sends in every socket.io
// handshake's `auth`, so a socket that reconnects within the grace takes back what the page held on the
// server (live views, capture watches, the classroom seat) and resumes each stream from its last sequence
// number. Isomorphic: no node:* imports.
import { z } from 'zod';

/** 128 random bits as 32 lowercase hex digits (crypto.getRandomValues in the page). */
export const SessionKey = z.string().regex(/^[0-9a-f]{32}$/, 'not a session key (32 hex digits)');

/** The handshake's `auth`: other fields are ignored; a session key, when given, must be well formed. */
export const SessionAuth = z.object({ session: SessionKey.optional() });
export type SessionAuth = z.infer<typeof SessionAuth>;

/** How long the server keeps a page's session after its connection drops (PJ_RESUME_GRACE_MS overrides). */
export const RESUME_GRACE_MS = 30_000;
