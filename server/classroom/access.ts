// Who may connect at all. A browser request must name this server in its Host header (so a DNS-rebound
// page cannot reach it as "evil.example"), a websocket or polling handshake whose Origin is another site
// is refused (on 127.0.0.1 too), and in token mode every request carries a token: `?token=` once (the
// printed link), then the HttpOnly cookie the answer sets.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { ClassRole } from '../protocol/classroom';
import type { Tokens } from './tokens';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
export const isLoopback = (host: string): boolean => LOOPBACK.has(host.replace(/^\[|\]$/g, '').toLowerCase());
const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** URL host form: IPv6 in brackets, lower case. */
const urlHost = (h: string): string => {
  const bare = h.replace(/^\[|\]$/g, '').toLowerCase();
  return bare.includes(':') ? `[${bare}]` : bare;
};

export interface Access {
  /** Token mode: every request needs a token. */
  readonly tokens: Tokens | undefined;
  readonly cookie: string;
  /** The one-line reason a request is refused, or undefined. */
  refusal(req: IncomingMessage, opts: { checkOrigin: boolean }): string | undefined;
  /** The role a request's token (query or cookie) grants; every request is the instructor's without tokens. */
  roleOf(req: IncomingMessage): ClassRole | undefined;
  /** The token the request's query carries, if any (a printed link being opened). */
  queryToken(req: IncomingMessage): string | undefined;
  /** The address links should use: the bound host, or a real address of this machine for a wildcard. */
  linkBase(): string;
  port(): number;
}

export function createAccess(http: HttpServer, o: { host: string; tokens?: Tokens }): Access {
  const names = new Set([...LOOPBACK].map(urlHost));
  names.add(urlHost(hostname()));
  const wildcard = WILDCARD.has(o.host);
  const addrs = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined);
  if (wildcard) for (const a of addrs) names.add(urlHost(a.address));
  else names.add(urlHost(o.host));
  const port = (): number => (http.address() as AddressInfo | null)?.port ?? 0;
  const cookie = (): string => `pj_token_${port()}`;

  const hostOk = (value: string | undefined): boolean => {
    if (!value) return false;
    const u = URL.parse(`http://${value}`);
    return !!u && names.has(u.hostname.toLowerCase()) && Number(u.port || 80) === port();
  };
  const originOk = (origin: string | undefined): boolean => {
    // Same-origin GETs (polling) carry no Origin, nor do non-browser clients: only a named other site is refused.
    if (origin === undefined) return true;
    const u = URL.parse(origin);
    return !!u && u.protocol === 'http:' && hostOk(u.host);
  };
  const queryToken = (req: IncomingMessage): string | undefined =>
    URL.parse(req.url ?? '/', 'http://x')?.searchParams.get('token') ?? undefined;
  const cookieToken = (req: IncomingMessage): string | undefined => {
    const name = cookie();
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === name) return v.join('=');
    }
    return undefined;
  };
  const roleOf = (req: IncomingMessage): ClassRole | undefined =>
    o.tokens ? (o.tokens.roleOf(queryToken(req)) ?? o.tokens.roleOf(cookieToken(req))) : 'instructor';

  return {
    tokens: o.tokens,
    get cookie() {
      return cookie();
    },
    refusal(req, { checkOrigin }) {
      if (!hostOk(req.headers.host)) return 'this server answers only to its own addresses (Host not allowed)';
      if (checkOrigin && !originOk(req.headers.origin)) return 'connections from other sites are refused (Origin)';
      if (!roleOf(req)) return 'this server needs a token: open the link it printed (ask the instructor)';
      return undefined;
    },
    roleOf,
    queryToken,
    linkBase() {
      const shown = wildcard ? (addrs.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1') : o.host;
      return `http://${urlHost(shown)}:${port()}`;
    },
    port,
  };
}
