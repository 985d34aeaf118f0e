// The role table, as a student sends it: every client event of the contract, each allowed or refused
// with its one line, before any handler runs. The handlers here only say "reached", so what is under test
// is the gate in front of them (the real handlers have their own tests); rate limits the same way.
import { createServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTo, ask, type PjClient } from '../../test/socket';
import { ok, type AckFn } from '../protocol/common';
import {
  CLIENT_EVENTS,
  type ClientEvent,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../protocol/events';
import type { PjServer } from '../gateway/types';
import { createAccess } from './access';
import { attachClassroom } from '.';
import { createTokens } from './tokens';
import type { AddressInfo } from 'node:net';

const tokens = createTokens({ dir: mkdtempSync(join(tmpdir(), 'pjt-class-')) });
const http = createServer();
const io: PjServer = new Server<ClientToServerEvents, ServerToClientEvents>(http);
const access = createAccess(http, { host: '127.0.0.1', tokens });
const classroom = attachClassroom(io, access);
// Stand-in handlers after the gate (classroom's own events keep their real handlers).
io.on('connection', (s) => {
  for (const ev of CLIENT_EVENTS) {
    if (ev.startsWith('classroom:') && ev !== 'classroom:watch' && ev !== 'classroom:unwatch') continue;
    (s.on as (e: string, f: (req: unknown, ack: AckFn<string>) => void) => void)(ev, (_req, ack) => {
      if (typeof ack === 'function') ack(ok('reached'));
    });
  }
});
let base = '';
const connect = (token: string): Promise<PjClient> => connectTo(base, { query: { token } });

beforeAll(async () => {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  classroom.dispose();
  await io.close();
});

const REACHED = { ok: true, value: 'reached' };
const refused = (error: string) => expect.objectContaining({ ok: false, error }) as unknown;
const podEth0 = { netns: 'pod-a', iface: 'eth0', filter: 'icmp' };

/** Each event with a request a student would send, and what it gets. */
const TABLE: { readonly [E in ClientEvent]: readonly [req: unknown, expected: unknown] } = {
  'lab:watch': [{}, REACHED],
  'lab:unwatch': [undefined, REACHED],
  'topology:watch': [{}, REACHED],
  'topology:unwatch': [undefined, REACHED],
  'tracer:status:watch': [{}, REACHED],
  'tracer:status:unwatch': [undefined, REACHED],
  'classroom:watch': [{}, refused('only the instructor can see who is connected')],
  'classroom:unwatch': [undefined, REACHED],
  'lab:run': [{ action: 'down' }, refused('students cannot change the lab or its scenario')],
  'lab:prog': [
    { action: 'attach', program: 'drop-all', netns: 'node1', iface: 'veth-pod-a', hook: 'tc-ingress' },
    refused('students cannot attach or detach programs'),
  ],
  'topology:get': [{}, REACHED],
  'tracer:follow': [{ from: 'pod-a', to: 'pod-c' }, REACHED],
  'tracer:live:start': [{ proto: 'icmp' }, REACHED],
  'tracer:live:stop': [{ liveId: 'x' }, REACHED],
  'tracer:live:resume': [{ liveId: 'x', after: -1 }, REACHED],
  'capture:targets': [{}, REACHED],
  'capture:filter-check': [{ netns: 'pod-a', iface: 'eth0', filter: 'icmp' }, REACHED],
  'capture:start': [podEth0, REACHED],
  'capture:stop': [{ id: 'c1abc' }, refused('students can stop only their own captures')],
  'capture:watch': [{ id: 'c1abc' }, refused('this capture is not shared with students')],
  'capture:unwatch': [{ id: 'c1abc' }, REACHED],
  'capture:packet': [{ id: 'c1abc', index: 0 }, refused('this capture is not shared with students')],
  'capture:note': [{ id: 'c1abc', index: 0, text: 'hi' }, refused('students can annotate only their own captures')],
  'capture:list': [{}, REACHED],
  'capture:delete': [{ name: 'x.pcapng' }, refused('students cannot delete captures')],
  'capture:decode-file': [{ base64: 'AAAA' }, REACHED],
  'capture:open': [{ name: 'x.pcapng' }, refused('this capture is not shared with students')],
  'classroom:me': [{}, { ok: true, value: expect.objectContaining({ role: 'student', name: 'Ada' }) }],
  'classroom:join': [{ name: 'Ada' }, { ok: true, value: expect.objectContaining({ name: 'Ada' }) }],
  'classroom:links': [{}, refused('only the instructor can see the links')],
  'classroom:rotate': [{}, refused('only the instructor can rotate the tokens')],
  'classroom:kick': [{ id: 'x' }, refused('only the instructor can disconnect a student')],
  'classroom:share': [{ name: 'x.pcapng', shared: true }, refused('only the instructor can share captures')],
  'classroom:view': [
    { tab: 'follow', journey: null, step: -1, capture: null, packet: null },
    refused('only the instructor can broadcast the view'),
  ],
  'classroom:attend': [{ on: true }, { ok: true, value: expect.objectContaining({ view: null }) }],
  'replay:watch': [{}, REACHED],
  'replay:unwatch': [undefined, REACHED],
  'replay:control': [{ action: 'next' }, refused('only the instructor can drive the replay')],
  'replay:record': [{ on: true }, refused('only the instructor can record the session')],
  'flows:watch': [{}, REACHED],
  'flows:unwatch': [undefined, REACHED],
  'flows:journey': [{ id: 'tcp 10.244.1.2:1 > 10.244.2.2:2' }, REACHED],
};

describe('roles: every client event sent by a student', () => {
  let student: PjClient;
  beforeAll(async () => {
    student = await connect(tokens.student);
    // Before joining, a student may only say who it is.
    expect(await ask(student, 'tracer:follow', { from: 'pod-a', to: 'pod-c' })).toEqual(
      refused('join with a display name first'),
    );
    expect(await ask(student, 'classroom:join', { name: '  ' })).toEqual(refused('name: type a name'));
    expect(await ask(student, 'classroom:join', { name: 'Ada' })).toMatchObject({ ok: true });
  });
  afterAll(() => student.close());

  it.each(CLIENT_EVENTS.map((e) => [e]))('%s', async (ev) => {
    const [req, expected] = TABLE[ev];
    // Spaced out so the table does not meet the rate limits (tested below).
    await new Promise((r) => setTimeout(r, 60));
    expect(await ask(student, ev, req)).toEqual(expected);
  });

  it("refuses a student's capture anywhere but a lab pod's eth0, and follows from outside the pods", async () => {
    const line = "students can capture only on a lab pod's eth0";
    for (const where of [
      { netns: 'node1', iface: 'veth-pod-a' },
      { netns: 'host', iface: 'eth0' },
      { netns: 'pod-a', iface: 'lo' },
    ]) {
      expect(await ask(student, 'capture:start', where)).toEqual(refused(line));
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(await ask(student, 'tracer:follow', { from: 'node1', to: 'pod-c' })).toEqual(
      refused("students can follow only from the lab's pods (pod-a, pod-b, pod-c, pod-d)"),
    );
    expect(await ask(student, 'tracer:follow', { from: 'pod-a', to: 'pod-c', rules: true })).toEqual(
      refused('students cannot turn on iptables rule tracing'),
    );
    // A malformed one is the handler's to answer (with the schema's line), not the gate's.
    expect(await ask(student, 'tracer:follow', { from: 5 })).toEqual(REACHED);
  });

  it('answers an event outside the contract with one line, and carries on', async () => {
    expect(await ask(student, 'no:such' as ClientEvent, {})).toEqual(refused('unknown event "no:such"'));
    expect(await ask(student, 'classroom:me', {})).toMatchObject({ ok: true });
  });

  it('lets the instructor send everything', async () => {
    const teacher = await connect(tokens.instructor);
    for (const ev of CLIENT_EVENTS.filter((e) => !e.startsWith('classroom:'))) {
      expect(await ask(teacher, ev, TABLE[ev][0])).toEqual(REACHED);
    }
    teacher.close();
  });
});

describe('rate limits, per student', () => {
  it('2 follows per second: the third is refused in one line, and a second later it goes again', async () => {
    const [a, b] = await Promise.all([connect(tokens.student), connect(tokens.student)]);
    for (const s of [a, b]) await ask(s, 'classroom:join', { name: 'Bo' });
    const follow = (s: PjClient) => ask(s, 'tracer:follow', { from: 'pod-a', to: 'pod-c' });
    expect(await follow(a)).toEqual(REACHED);
    expect(await follow(a)).toEqual(REACHED);
    expect(await follow(a)).toEqual(refused('too many requests: at most 2 follows per second; try again in a moment'));
    // Another student has its own allowance.
    expect(await follow(b)).toEqual(REACHED);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await follow(a)).toEqual(REACHED);
    a.close();
    b.close();
  });

  it('a flood of any event is cut at 40 and the connection stays up', async () => {
    const s = await connect(tokens.student);
    await ask(s, 'classroom:join', { name: 'Cy' });
    const answers = await Promise.all(Array.from({ length: 60 }, () => ask(s, 'lab:watch', {})));
    const cut = answers.filter((x) => !x.ok);
    expect(cut.length).toBeGreaterThanOrEqual(15);
    expect(cut[0]).toEqual(refused('too many requests: at most 20 messages per second; try again in a moment'));
    expect(s.connected).toBe(true);
    s.close();
  });
});
