// Issue 10, defect 2: an unparsable URL threw in the request handler and left the connection open with
// no answer. Every request must get an answer, and a bad URL a 400.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestListener } from './http';

let http: Server;
let port = 0;

beforeAll(async () => {
  // Stands in for Next: the routing in front of it is what is under test.
  http = createServer(
    requestListener((req, res) => {
      if (req.url === '/throw') throw new Error('boom');
      res.end('next');
    }),
  );
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  port = (http.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => http.close(() => r())));

/** Sends raw request bytes and resolves with everything the server answered before closing (or 2 s). */
function raw(request: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(request));
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(got).toString() || '(no answer in 2 s)');
    }, 2000);
    s.on('data', (b: Buffer) => got.push(b));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString());
    });
    s.on('error', () => undefined);
  });
}

describe('HTTP routing', () => {
  it('answers 400 to an unparsable URL, and closes the connection', async () => {
    const r = await raw('GET //x:99999/ HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(r.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(r).toContain('unparsable URL');
  });

  it('answers every one of many bad requests sent at once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => raw('GET //x:99999/ HTTP/1.1\r\nHost: a\r\n\r\n')),
    );
    expect(answers.filter((a) => a.startsWith('HTTP/1.1 400')).length).toBe(50);
  });

  it('a handler that throws gets a 500, not a hung connection', async () => {
    const r = await raw('GET /throw HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(r.split('\r\n')[0]).toBe('HTTP/1.1 500 Internal Server Error');
  });

  it('routes ordinary URLs on', async () => {
    const r = await raw('GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(r.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(r.endsWith('next')).toBe(true);
  });
});
