// The classroom on the socket gateway: every connection gets a role from its token (everyone is the
// instructor without tokens), a student's every event passes the role table and its rate limits before
// any handler runs, and the instructor sees who is connected and what each is doing, shares captures,
// disconnects a client and rotates the tokens. A client is a page's session (gateway/session.ts), not
// one socket: a student whose connection drops keeps its name, its captures and its place among the
// followers through the resume grace.
import QRCode from 'qrcode';
import { z } from 'zod';
import { captureManager } from '../capture/manager';
import { listSaved } from '../capture/store';
import { handle } from '../gateway/handle';
import { sessionOf, type PjSession } from '../gateway/sessions';
import type { PjServer, PjSocket } from '../gateway/types';
import { createWatch } from '../gateway/watch';
import {
  ClassAttendReq,
  ClassJoinReq,
  ClassKickReq,
  ClassShareReq,
  ClassView,
  type ClassClient,
  type ClassLinks,
  type ClassMe,
  type ClassRole,
  type ClassRoster,
} from '../protocol/classroom';
import { fail, type Ack } from '../protocol/common';
import { msg, type Msg } from '../protocol/i18n/msg';
import { CaptureList, CaptureShown, CaptureInfo } from '../protocol/capture';
import { FollowRequest, Journey, LiveStarted, LiveStartRequest, LiveStopRequest } from '../protocol/tracer';
import { UserError } from '../sys/errors';
import type { Access } from './access';
import {
  createBuckets,
  rateRefusal,
  STUDENT_ANY_RATE,
  STUDENT_RULES,
  studentRefusal,
  type Rule,
  type StudentView,
} from './policy';
import { createViewRelay, type ViewRelay } from './view';

interface Client {
  readonly session: PjSession;
  /** Its socket now, or the one that dropped while the session is held. */
  socket: PjSocket;
  readonly role: ClassRole;
  readonly since: number;
  name: string | null;
  readonly ownCaptures: Set<string>;
  readonly ownFiles: Set<string>;
  startingCaptures: number;
  /** Running follows and live traces, one line each. */
  readonly doing: Map<string, string>;
  last: string | null;
  /** A student following the instructor's view. */
  following: boolean;
}

export interface Classroom {
  /** May a request of this role download this saved capture? */
  downloadable(role: ClassRole, name: string): boolean;
  links(): Promise<ClassLinks>;
  /** The instructor's view (a recording reads it, a replay drives it: server/replay/). */
  readonly relay: ViewRelay;
  dispose(): void;
}

type Packet = unknown[];
/** Requests without arguments accept anything and ignore it. */
const NoArgs = z.unknown();
type AnyAck = (a: Ack<unknown>) => void;

export function attachClassroom(
  io: PjServer,
  access: Access,
  opts: { readonly shared?: readonly string[] } = {},
): Classroom {
  const clients = new Map<string, Client>();
  // A replay's captures are shared from the start: they are the recording's, for everyone to study.
  const shared = new Set<string>(opts.shared);
  const buckets = createBuckets();
  // A capture on the instructor's screen is the students' to open when its file is shared.
  const relay = createViewRelay(io, (v) => {
    const file = (v.id ? captureManager.get(v.id)?.fileName : undefined) ?? v.file;
    return typeof file === 'string' && shared.has(file);
  });

  const roster = (): ClassRoster => ({
    clients: [...clients.values()].map((c): ClassClient => ({
      id: c.socket.id,
      role: c.role,
      name: c.name,
      since: c.since,
      doing: [
        ...(c.socket.connected ? [] : [msg('roster.reconnecting')]),
        ...(c.following ? [msg('roster.following')] : []),
        ...c.doing.values(),
        ...liveCapturesOf(c).map((x) => x.line),
      ],
      last: c.last,
    })),
    shared: [...shared].sort(),
  });
  const watch = createWatch(io, {
    topic: 'classroom',
    current: roster,
    // Captures end on their own: look again every 2 s while the instructor watches.
    onFirst: () => (tick ??= setInterval(changed, 2000)),
    onIdle: () => {
      if (tick) clearInterval(tick);
      tick = undefined;
    },
  });
  let tick: NodeJS.Timeout | undefined;
  let lastSent = '';
  let pending: NodeJS.Timeout | undefined;
  function changed(): void {
    pending ??= setTimeout(() => {
      pending = undefined;
      const r = roster();
      const json = JSON.stringify(r);
      if (json === lastSent) return;
      lastSent = json;
      watch.publish(r);
    }, 100);
  }

  const liveCapturesOf = (c: Client): { id: string; line: string }[] =>
    [...c.ownCaptures].flatMap((id) => {
      const x = captureManager.get(id);
      if (!x?.live) return [];
      return [{ id, line: `capturing ${x.netns}/${x.iface}${x.filter ? ` "${x.filter}"` : ''}` }];
    });
  const viewOf = (c: Client): StudentView => ({
    joined: c.name !== null,
    ownCaptures: c.ownCaptures,
    ownFiles: c.ownFiles,
    shared,
    liveCaptures: liveCapturesOf(c).length + c.startingCaptures,
    fileOf: (id) => captureManager.get(id)?.fileName,
  });

  const me = (c: Client): ClassMe => ({ id: c.socket.id, role: c.role, tokens: !!access.tokens, name: c.name });

  const links = async (): Promise<ClassLinks> => {
    const t = access.tokens;
    if (!t)
      throw new UserError('no tokens: the server is on a loopback address; start it with --host or --require-tokens');
    const base = access.linkBase();
    const student = `${base}/?token=${t.student}`;
    return {
      instructor: `${base}/?token=${t.instructor}`,
      student,
      studentQrSvg: await QRCode.toString(student, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' }),
    };
  };

  /** Tells the client why, and ends its session (a held one too: its views stop, its key is refused). */
  const say = (c: Client, line: string): void => {
    c.socket.emit('classroom:notice', line);
    c.socket.disconnect(true);
    c.session.end();
  };

  /** The session's seat, made with its first socket; it goes when the session ends. */
  const clientOf = (socket: PjSocket): Client => {
    const session = sessionOf(socket);
    return session.slot('classroom', () => {
      const c: Client = {
        session,
        socket,
        // The gateway's session has this role already (a key cannot change role); a bare server's has none.
        role: access.roleOf(socket.request) ?? 'student',
        since: Date.now(),
        name: null,
        ownCaptures: new Set(),
        ownFiles: new Set(),
        startingCaptures: 0,
        doing: new Map(),
        last: null,
        following: false,
      };
      clients.set(session.id, c);
      session.onEnd(() => {
        clients.delete(session.id);
        buckets.forget(`${session.id}:`);
        changed();
      });
      return c;
    });
  };

  const onConnection = (socket: PjSocket): void => {
    const c = clientOf(socket);
    c.socket = socket;
    // A follower that comes back follows on: the page asks for the newest view anyway (it is state).
    if (c.following) relay.follow(socket, true);
    changed();
    socket.use((packet, next) => {
      if (gate(c, packet as Packet)) next();
    });
    socket.on(
      'classroom:me',
      handle(NoArgs, () => me(c)),
    );
    socket.on(
      'classroom:join',
      handle(ClassJoinReq, (r) => {
        c.name = r.name;
        changed();
        return me(c);
      }),
    );
    socket.on(
      'classroom:links',
      handle(NoArgs, () => links()),
    );
    socket.on(
      'classroom:rotate',
      handle(NoArgs, async () => {
        if (!access.tokens) throw new UserError('no tokens to rotate: the server is on a loopback address');
        access.tokens.rotate();
        // Answer first, then end every connection made with the old tokens (this one too: its page
        // reloads on the new instructor link).
        setTimeout(() => {
          for (const k of [...clients.values()]) say(k, 'the tokens were rotated: ask the instructor for the new link');
          // Sockets of no seat (none expected): the old token is theirs too.
          for (const s of io.sockets.sockets.values()) s.disconnect(true);
        }, 200);
        return links();
      }),
    );
    socket.on(
      'classroom:kick',
      handle(ClassKickReq, (r) => {
        const k = [...clients.values()].find((x) => x.socket.id === r.id);
        if (!k) throw new UserError(`no client ${r.id}`);
        if (k === c) throw new UserError('you cannot disconnect yourself');
        say(k, 'the instructor disconnected you');
        return null;
      }),
    );
    socket.on(
      'classroom:share',
      handle(ClassShareReq, async (r) => {
        if (r.shared) {
          if (!(await listSaved()).some((s) => s.name === r.name)) throw new UserError(`no saved capture "${r.name}"`);
          shared.add(r.name);
        } else shared.delete(r.name);
        changed();
        relay.sharingChanged();
        return [...shared].sort();
      }),
    );
    socket.on(
      'classroom:view',
      handle(ClassView, (v) => {
        relay.set(v);
        return null;
      }),
    );
    socket.on(
      'classroom:attend',
      handle(ClassAttendReq, (r) => {
        relay.follow(socket, r.on);
        if (c.following !== r.on) changed();
        c.following = r.on;
        return r.on ? relay.current() : null;
      }),
    );
    // Held or ended: the roster says so (the session's end removes the seat).
    socket.on('disconnect', changed);
  };
  io.on('connection', onConnection);

  /** The role table, rate limits and bookkeeping of one event; false: refused (and answered). */
  function gate(c: Client, packet: Packet): boolean {
    const [event, ...args] = packet;
    if (typeof event !== 'string') return false;
    const last = args.length - 1;
    const ack = typeof args[last] === 'function' ? (args[last] as AnyAck) : undefined;
    const req = ack && last === 0 ? undefined : args[0];
    if (c.role === 'student') {
      const refusal = studentGate(c, event, req);
      if (refusal) {
        ack?.(fail(refusal));
        return false;
      }
    }
    if (ack) args[last] = observe(c, event, req, ack);
    packet.splice(1, args.length, ...args);
    return true;
  }

  function studentGate(c: Client, event: string, req: unknown): Msg | undefined {
    if (!buckets.take(`${c.session.id}:*`, STUDENT_ANY_RATE)) return rateRefusal(STUDENT_ANY_RATE);
    const refusal = studentRefusal(event, req, viewOf(c));
    if (refusal) return refusal;
    const rate = (STUDENT_RULES as Readonly<Record<string, Rule>>)[event]?.rate;
    if (rate && !buckets.take(`${c.session.id}:${event}`, rate)) return rateRefusal(rate);
    return undefined;
  }

  /** Wraps the ack to keep the roster's "doing" and the student's own captures, and to narrow lists. */
  function observe(c: Client, event: string, req: unknown, ack: AnyAck): AnyAck {
    switch (event) {
      case 'tracer:follow': {
        const p = FollowRequest.safeParse(req ?? {});
        if (!p.success) return ack;
        const line = `${p.data.from} → ${p.data.to} (${p.data.proto})`;
        const key = `follow:${Math.random()}`;
        c.doing.set(key, `following ${line}`);
        changed();
        return (a) => {
          c.doing.delete(key);
          const j = a.ok ? Journey.safeParse(a.value) : undefined;
          c.last = `${line}: ${!a.ok ? a.error : j?.success && j.data.delivered ? 'delivered' : 'not delivered'}`;
          changed();
          ack(a);
        };
      }
      case 'tracer:live:start': {
        const p = LiveStartRequest.safeParse(req ?? {});
        return (a) => {
          const s = a.ok ? LiveStarted.safeParse(a.value) : undefined;
          if (p.success && s?.success) {
            const f = p.data;
            const what = [f.proto, f.addr, f.port, f.netns?.join(',')].filter((x) => x !== undefined).join(' ');
            c.doing.set(`live:${s.data.liveId}`, `live trace ${what || 'all IPv4'}`);
            changed();
          }
          ack(a);
        };
      }
      case 'tracer:live:stop': {
        const p = LiveStopRequest.safeParse(req ?? {});
        if (p.success && c.doing.delete(`live:${p.data.liveId}`)) changed();
        return ack;
      }
      case 'capture:start':
        c.startingCaptures++;
        return (a) => {
          c.startingCaptures--;
          const info = a.ok ? CaptureInfo.safeParse(a.value) : undefined;
          if (info?.success) {
            c.ownCaptures.add(info.data.id);
            if (info.data.fileName) c.ownFiles.add(info.data.fileName);
            changed();
          }
          ack(a);
        };
      case 'capture:decode-file':
        return (a) => {
          const shown = a.ok ? CaptureShown.safeParse(a.value) : undefined;
          if (shown?.success) c.ownCaptures.add(shown.data.info.id);
          ack(a);
        };
      case 'capture:list':
        if (c.role !== 'student') return ack;
        return (a) => {
          const l = a.ok ? CaptureList.safeParse(a.value) : undefined;
          if (!l?.success) return ack(a);
          const v = viewOf(c);
          ack({
            ok: true,
            value: {
              live: l.data.live.filter(
                (x) => v.ownCaptures.has(x.id) || (x.fileName !== null && shared.has(x.fileName)),
              ),
              saved: l.data.saved.filter((x) => shared.has(x.name) || v.ownFiles.has(x.name)),
            },
          });
        };
      default:
        return ack;
    }
  }

  return {
    downloadable(role, name) {
      if (role === 'instructor') return true;
      return shared.has(name) || [...clients.values()].some((c) => c.role === 'student' && c.ownFiles.has(name));
    },
    links,
    relay,
    dispose() {
      io.off('connection', onConnection);
      if (pending) clearTimeout(pending);
      watch.dispose();
      relay.dispose();
    },
  };
}
