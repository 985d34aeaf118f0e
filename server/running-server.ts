// How a CLI call finds the server running on this machine, to use its warm probe loader instead of
// starting one (about 0.4 s of BPF verification). A running server keeps a marker file in
// /run/packet-journey/servers/ (PJ_RUN_DIR moves it); it is removed when the server closes, and a marker
// left by a killed one is recognised (its pid is gone or is another process) and deleted by the reader.
// Only a server of this same checkout is used: another one may run other code or another probe build.
import { readdirSync, readFileSync, realpathSync, rmSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { z } from 'zod';
import type { LeanSocket } from './cli-socket';
import type { Ack } from './protocol/common';
import type { ClientToServerEvents, ServerToClientEvents } from './protocol/events';
import { readStoredTokens, runDir } from './classroom/tokens';

export const CHECKOUT = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'));
const CONNECT_TIMEOUT_MS = 1000;

const Marker = z.object({
  pid: z.number().int().positive(),
  /** The process's start time (/proc/PID/stat field 22): a reused pid is not the server. */
  started: z.string().regex(/^\d+$/),
  url: z.string().regex(/^http:\/\/[0-9A-Za-z.:[\]-]+:\d+$/),
  checkout: z.string(),
  tokens: z.boolean(),
});
export type ServerMarker = z.infer<typeof Marker>;

const markerDir = (): string => join(runDir(), 'servers');

/** Field 22 of /proc/PID/stat, after the command name (which may hold spaces and parentheses). */
function startTime(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The address a local client reaches a server bound to `host` on (a wildcard is reached on loopback). */
export function localUrl(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, '');
  const h = bare === '0.0.0.0' || bare === '' ? '127.0.0.1' : bare === '::' ? '::1' : bare;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/**
 * Writes this process's marker for a server listening on `host:port`; returns its removal. A failure (not
 * root, read-only /run) only means CLI calls will not find this server: they then start their own loader.
 */
export function writeServerMarker(o: { host: string; port: number; tokens: boolean }): () => void {
  const file = join(markerDir(), `${process.pid}-${o.port}.json`);
  const marker: ServerMarker = {
    pid: process.pid,
    started: startTime('self') ?? '0',
    url: localUrl(o.host, o.port),
    checkout: CHECKOUT,
    tokens: o.tokens,
  };
  try {
    mkdirSync(markerDir(), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, JSON.stringify(marker) + '\n', { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch {
    return () => undefined;
  }
  const remove = (): void => {
    process.off('exit', remove);
    rmSync(file, { force: true });
  };
  // process.exit() skips close(): the marker goes anyway (a SIGKILL leaves it, and readers drop it).
  process.on('exit', remove);
  return remove;
}

/** A live server of this checkout, if one runs; stale markers are removed on the way. */
export function findServer(): ServerMarker | undefined {
  let names: string[];
  try {
    names = readdirSync(markerDir()).filter((n) => /^\d+-\d+\.json$/.test(n));
  } catch {
    return undefined;
  }
  for (const n of names.sort()) {
    const file = join(markerDir(), n);
    let m: ServerMarker | undefined;
    try {
      const p = Marker.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      m = p.success ? p.data : undefined;
    } catch {
      m = undefined;
    }
    if (!m || startTime(m.pid) !== m.started) {
      rmSync(file, { force: true });
      continue;
    }
    if (m.checkout === CHECKOUT) return m;
  }
  return undefined;
}

export type ServerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The running server of this checkout and, in token mode, the instructor token to present. */
export function serverToUse(): { server: ServerMarker; token?: string } | { why?: string } {
  const server = findServer();
  if (!server) return {};
  if (!server.tokens) return { server };
  const token = readStoredTokens()?.instructor;
  if (!token) return { why: `the server at ${server.url} needs a token and ${runDir()}/tokens.json is not readable` };
  return { server, token };
}

/**
 * One request to the running server of this checkout over the CLI's lean socket (cli-socket.ts), or
 * undefined-like `{ why? }` when none runs or it does not answer within a second.
 */
export async function connectServerLean(): Promise<{ socket: LeanSocket; server: ServerMarker } | { why?: string }> {
  const found = serverToUse();
  if (!('server' in found)) return found;
  const { server, token } = found;
  try {
    const { connectLean } = await import('./cli-socket');
    return { socket: await connectLean(server.url, { token, timeoutMs: CONNECT_TIMEOUT_MS }), server };
  } catch (e) {
    return { why: `the server at ${server.url} did not answer (${e instanceof Error ? e.message : String(e)})` };
  }
}

/**
 * The running server's lean socket for a CLI verb, or undefined when there is none: then the verb says why
 * on stderr (if anything is wrong with it) and what it does instead (`instead`), and runs on its own.
 */
export async function serverForCli(
  verb: string,
  instead: string,
): Promise<{ socket: LeanSocket; server: ServerMarker } | undefined> {
  const c = await connectServerLean();
  if (!('socket' in c)) {
    if (c.why) process.stderr.write(`packet-journey ${verb}: ${c.why}; ${instead}\n`);
    return undefined;
  }
  if (process.env.PJ_DEBUG)
    process.stderr.write(`packet-journey ${verb}: connected to the server at ${c.server.url} (pid ${c.server.pid})\n`);
  return c;
}

/**
 * A socket.io connection to the running server of this checkout, or undefined when none runs or it does
 * not answer within a second (then `why` says so, for the caller to mention). In token mode it presents
 * the instructor token from the tokens file (readable by root only).
 */
export async function connectServer(): Promise<{ socket: ServerSocket; server: ServerMarker } | { why?: string }> {
  const found = serverToUse();
  if (!('server' in found)) return found;
  const { server, token } = found;
  const { io } = await import('socket.io-client');
  const socket: ServerSocket = io(server.url, {
    transports: ['websocket'],
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    forceNew: true,
    ...(token && { query: { token } }),
  });
  const why = await new Promise<string | undefined>((resolve) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', (e) => resolve(e.message));
  });
  if (why === undefined) return { socket, server };
  socket.close();
  return { why: `the server at ${server.url} did not answer (${why})` };
}

/**
 * One request with an ack; rejects when the server goes away or `timeoutMs` passes. The value is the
 * server's, unparsed: the caller parses it with the event's schema (parse at the boundary).
 */
export function request(
  socket: ServerSocket,
  event: keyof ClientToServerEvents,
  req: unknown,
  timeoutMs: number,
): Promise<Ack<unknown>> {
  return new Promise((resolve, reject) => {
    const gone = (reason: string): void => {
      clearTimeout(timer);
      reject(new Error(`the server went away (${reason})`));
    };
    const timer = setTimeout(() => {
      socket.off('disconnect', gone);
      reject(new Error(`the server did not answer ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('disconnect', gone);
    (socket.emit as (e: string, r: unknown, ack: (a: Ack<unknown>) => void) => void)(event, req, (a) => {
      clearTimeout(timer);
      socket.off('disconnect', gone);
      resolve(a);
    });
  });
}
