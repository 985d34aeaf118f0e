// A CLI call's own socket.io client for one request to the running server: the protocol (engine.io 4
// over one WebSocket, socket.io packets in its text frames) on node:http, without socket.io-client and
// ws, whose code costs a follow through the server ~25 ms to load. The server sees an ordinary
// websocket client (same handshake, same token query, same access rules); only the client is smaller.
// It sends CONNECT and EVENTs (with an ack id or without), answers pings, and hands the server's pushed
// EVENTs to their listeners, unparsed: the caller parses each with the protocol's schema.
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Ack } from './protocol/common';
import type { ClientToServerEvents, ServerToClientEvents } from './protocol/events';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One socket.io connection on a raw WebSocket; `request` is socket.io's emit with an ack. */
export interface LeanSocket {
  request(event: keyof ClientToServerEvents, payload: unknown, timeoutMs: number): Promise<Ack<unknown>>;
  /** socket.io's emit without an ack (e.g. an unwatch). */
  emit(event: keyof ClientToServerEvents, payload: unknown): void;
  /** The server's pushes of `event` (its first argument), as they come. */
  on(event: keyof ServerToClientEvents, fn: (payload: unknown) => void): void;
  /** Once, when the connection goes (not after close()). */
  onGone(fn: (why: string) => void): void;
  close(): void;
}

/** Connects to `url` (http://host:port) within `timeoutMs`; rejects with the reason in one line. */
export function connectLean(url: string, opts: { token?: string; timeoutMs: number }): Promise<LeanSocket> {
  const u = new URL('/socket.io/', url);
  u.searchParams.set('EIO', '4');
  u.searchParams.set('transport', 'websocket');
  if (opts.token) u.searchParams.set('token', opts.token);
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('timeout'), opts.timeoutMs);
    let settled = false;
    let upgraded: Socket | undefined;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      // A refusal after the upgrade (socket.io's CONNECT_ERROR) comes on the upgraded socket, which is not
      // the request's any more: left open, the server held it until its own timeout.
      upgraded?.destroy();
      reject(new Error(why));
    };
    const req = httpRequest(u, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
      },
    });
    req.once('error', (e) => fail(e.message));
    req.once('response', (res) => {
      // Not upgraded: socket.io answers a refused handshake (a bad token) with a JSON error.
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.once('end', () => fail(`${res.statusCode} ${/"message":"([^"]*)"/.exec(body)?.[1] ?? res.statusMessage}`));
    });
    req.once('upgrade', (res, sock, head) => {
      upgraded = sock;
      const accept = createHash('sha1')
        .update(key + WS_GUID)
        .digest('base64');
      if (res.headers['sec-websocket-accept'] !== accept) return fail('bad websocket handshake');
      const conn = new Connection(sock, head);
      conn.onText = (t) => {
        // engine.io: 0 open, 2 ping; socket.io inside 4 (message): 0 CONNECT, 4 CONNECT_ERROR.
        if (t.startsWith('0')) conn.send('40');
        else if (t.startsWith('40')) {
          settled = true;
          clearTimeout(timer);
          resolve(conn);
        } else if (t.startsWith('44')) fail(/"message":"([^"]*)"/.exec(t)?.[1] ?? 'refused');
      };
      conn.onClose = (why) => fail(why);
      conn.start();
    });
    req.end();
  });
}

class Connection implements LeanSocket {
  onText: (t: string) => void = () => undefined;
  onClose: (why: string) => void = () => undefined;
  private buf: Buffer;
  private parts: Buffer[] = [];
  private nextAck = 0;
  private readonly acks = new Map<number, (a: Ack<unknown>) => void>();
  private readonly waiting = new Set<(why: string) => void>();
  private readonly listeners = new Map<string, ((payload: unknown) => void)[]>();
  private readonly goneFns: ((why: string) => void)[] = [];
  private closed = false;

  constructor(
    private readonly sock: Socket,
    head: Buffer,
  ) {
    this.buf = head;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.drain();
    });
    sock.once('close', () => this.gone('connection closed'));
    sock.once('error', (e) => this.gone(e.message));
  }

  /** Reads what came with the upgrade (engine.io's open packet may): once the handlers are set. */
  start(): void {
    this.drain();
  }

  request(event: keyof ClientToServerEvents, payload: unknown, timeoutMs: number): Promise<Ack<unknown>> {
    const id = this.nextAck++;
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.acks.delete(id);
        this.waiting.delete(gone);
      };
      const gone = (why: string): void => {
        done();
        reject(new Error(`the server went away (${why})`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the server did not answer ${event} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.add(gone);
      this.acks.set(id, (a) => {
        done();
        resolve(a);
      });
      this.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  emit(event: keyof ClientToServerEvents, payload: unknown): void {
    this.send(`42${JSON.stringify([event, payload])}`);
  }

  on(event: keyof ServerToClientEvents, fn: (payload: unknown) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }

  onGone(fn: (why: string) => void): void {
    this.goneFns.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.frame(0x8, Buffer.alloc(0));
    this.sock.end();
    this.sock.destroy();
  }

  send(text: string): void {
    this.frame(0x1, Buffer.from(text, 'utf8'));
  }

  private gone(why: string): void {
    if (this.closed) return;
    this.closed = true;
    // The socket too: left open after the server's close frame, it was held until the server gave up on
    // it (ws waits 30 s for the client's side of the close).
    this.sock.destroy();
    this.onClose(why);
    for (const w of [...this.waiting]) w(why);
    for (const g of this.goneFns) g(why);
  }

  /** One client frame: FIN, the opcode, masked as RFC 6455 requires of a client. */
  private frame(opcode: number, payload: Buffer): void {
    if (this.sock.destroyed) return;
    const n = payload.length;
    const head = Buffer.alloc(n < 126 ? 6 : n < 65536 ? 8 : 14);
    head[0] = 0x80 | opcode;
    if (n < 126) head[1] = 0x80 | n;
    else if (n < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(n, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const mask = randomBytes(4);
    mask.copy(head, head.length - 4);
    const body = Buffer.from(payload);
    for (let i = 0; i < n; i++) body[i] = (body[i] as number) ^ (mask[i & 3] as number);
    this.sock.write(Buffer.concat([head, body]));
  }

  /** Server frames (unmasked), whole ones only; the rest waits for more bytes. */
  private drain(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = ((b[0] as number) & 0x80) !== 0;
      const opcode = (b[0] as number) & 0x0f;
      let len = (b[1] as number) & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + len) return;
      const payload = b.subarray(at, at + len);
      this.buf = b.subarray(at + len);
      if (opcode === 0x8) return this.gone('closed by the server');
      if (opcode === 0x9) this.frame(0xa, Buffer.from(payload));
      if (opcode === 0x1 || opcode === 0x0) {
        this.parts.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.parts).toString('utf8');
          this.parts = [];
          this.onPacket(text);
        }
      }
    }
  }

  private onPacket(t: string): void {
    if (t === '2') return this.send('3'); // engine.io ping
    // socket.io ACK: 43<id>[value]
    const m = /^43(\d+)/.exec(t);
    if (m) {
      const id = Number(m[1]);
      const answer = this.acks.get(id);
      if (answer) answer((JSON.parse(t.slice(m[0].length)) as unknown[])[0] as Ack<unknown>);
      return;
    }
    // socket.io EVENT from the server: 42[name, payload] (no ack id: the server asks for none).
    if (t.startsWith('42[')) {
      let packet: unknown;
      try {
        packet = JSON.parse(t.slice(2));
      } catch {
        return;
      }
      if (!Array.isArray(packet) || typeof packet[0] !== 'string') return;
      for (const fn of this.listeners.get(packet[0]) ?? []) fn(packet[1]);
      return;
    }
    this.onText(t);
  }
}
