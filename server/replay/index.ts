// Record and replay on the gateway. A live server records on the instructor's word (`replay:record`,
// or `serve --record FILE` from start to stop). A replay server (`serve --replay FILE`) has no kernel
// access: the lab, topology and loader status come from the file, the recorded captures are read-only
// copies in a folder of the process's own (removed on exit), kernel actions answer "replay mode: …",
// and the recorded instructor steps drive the view relay, so the page follows them as a student
// follows the instructor.
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attach as attachCapture } from '../capture/socket';
import { captureManager } from '../capture/manager';
import { listSaved, readNotes, readSaved, writeNotes } from '../capture/store';
import type { ViewRelay } from '../classroom/view';
import { handle } from '../gateway/handle';
import type { Attach, PjServer, PjSocket } from '../gateway/types';
import { createWatch } from '../gateway/watch';
import { labStatus } from '../lab/lab';
import { fail, ok, type Ack } from '../protocol/common';
import type { ClientEvent } from '../protocol/events';
import { msg, type Msg } from '../protocol/i18n/msg';
import { ReplayControlReq, ReplayRecordReq, type ReplayStatus } from '../protocol/replay';
import type { LoaderStatus } from '../protocol/tracer';
import { serverBus } from '../sys/bus';
import { UserError } from '../sys/errors';
import { getDiscovery, watchTopology } from '../topology';
import { topologyKey } from '../topology/cache';
import { attachWith as attachTopology } from '../topology/socket';
import { readRecording, type Recording } from './format';
import { createPlayer, type Player } from './player';
import { startRecording, type Recording as LiveRecording } from './recorder';

/** A recording opened for replay, its captures extracted to a folder only this process uses. */
export interface ReplaySession {
  readonly path: string;
  readonly recording: Recording;
  readonly captureDir: string;
  readonly captures: readonly string[];
  readonly speed: number;
  close(): Promise<void>;
}

export async function openReplay(path: string, speed = 1): Promise<ReplaySession> {
  const recording = await readRecording(path);
  const dir = await mkdtemp(join(tmpdir(), 'pj-replay-'));
  const gone = (): void => rmSync(dir, { recursive: true, force: true });
  // A crash still removes it; a normal close does it first.
  process.once('exit', gone);
  const captures: string[] = [];
  for (const e of recording.entries) {
    if (e.kind !== 'capture') continue;
    const fh = await open(join(dir, e.data.name), 'wx', 0o600);
    await fh.writeFile(Buffer.from(e.data.base64, 'base64'));
    await fh.close();
    if (Object.keys(e.data.notes).length) await writeNotes(e.data.name, e.data.notes, dir);
    captures.push(e.data.name);
  }
  const before = process.env.PJ_CAPTURE_DIR;
  // The capture module reads its folder from here on every call: the replay's copies, nothing else.
  process.env.PJ_CAPTURE_DIR = dir;
  return {
    path,
    recording,
    captureDir: dir,
    captures,
    speed,
    close: async () => {
      if (before === undefined) delete process.env.PJ_CAPTURE_DIR;
      else process.env.PJ_CAPTURE_DIR = before;
      process.off('exit', gone);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ReplayOptions {
  /** Replay mode. */
  readonly replay?: ReplaySession;
  /** Live mode: record from the start into this file (`serve --record FILE`). */
  readonly record?: string;
  /** Where a saved recording is reported (the terminal). */
  readonly log?: (line: string) => void;
}

export interface ReplayAttached {
  /** Replay mode: what attaches instead of the live capabilities. */
  readonly capabilities?: readonly Attach[];
  /** Saves a recording still running. */
  close(): Promise<void>;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let writer: string | undefined;
async function writerVersion(): Promise<string> {
  writer ??= await readFile(join(ROOT, 'package.json'), 'utf8').then(
    (s) => `packet-journey ${(JSON.parse(s) as { version?: string }).version ?? '?'}`,
    () => 'packet-journey',
  );
  return writer;
}

export function recordingDir(): string {
  return resolve(process.env.PJ_RECORDING_DIR ?? './recordings');
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

export function attachReplay(io: PjServer, relay: ViewRelay, opts: ReplayOptions): ReplayAttached {
  // Its watch and its handlers add connection listeners next to every capability's: room for them.
  io.sockets.setMaxListeners(io.sockets.getMaxListeners() + 4);
  return opts.replay ? replayMode(io, relay, opts.replay) : liveMode(io, relay, opts);
}

function liveMode(io: PjServer, relay: ViewRelay, opts: ReplayOptions): ReplayAttached {
  let rec: LiveRecording | undefined;
  let saved: string | null = null;
  let firstFile = opts.record;
  const status = (): ReplayStatus => ({ mode: 'live', recording: rec?.status() ?? null, saved, replay: null });
  const watch = createWatch(io, { topic: 'replay', current: status });
  let last = '';
  const publish = (): void => {
    const s = status();
    const json = JSON.stringify(s);
    if (json !== last) watch.publish(s);
    last = json;
  };
  let tick: NodeJS.Timeout | undefined;

  const start = async (): Promise<void> => {
    if (rec) throw new UserError('already recording');
    const file = firstFile ?? join(recordingDir(), `session-${stamp(Date.now())}.pjrec`);
    if (!firstFile) await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    firstFile = undefined;
    const w = await writerVersion();
    rec = startRecording(file, {
      now: Date.now,
      writer: w,
      topology: (publish) => {
        void getDiscovery(1000).then(
          (d) => publish(d.topology),
          () => undefined,
        );
        return watchTopology(publish);
      },
      lab: labStatus,
      journeys: (fn) => serverBus.on('tracer:journey', fn),
      view: () => relay.current().view,
      fileOf: (id) => captureManager.get(id)?.fileName,
      savedSince: async (since) => (await listSaved()).filter((s) => s.mtimeMs >= since).map((s) => s.name),
      readCapture: async (name) => ({ bytes: await readSaved(name), notes: await readNotes(name) }),
    });
    saved = null;
    tick = setInterval(publish, 1000);
    publish();
  };
  const stop = async (): Promise<string> => {
    const r = rec;
    if (!r) throw new UserError('not recording');
    if (tick) clearInterval(tick);
    tick = undefined;
    try {
      saved = await r.stop();
    } catch (e) {
      saved = e instanceof Error ? e.message : String(e);
    }
    rec = undefined;
    publish();
    opts.log?.(saved);
    return saved;
  };

  const onConnection = (s: PjSocket): void => {
    // After the classroom's handler has set the relay (it was attached first): the view is read back.
    s.on('classroom:view', () => rec?.onView());
    s.on(
      'replay:record',
      handle(ReplayRecordReq, async (r) => {
        await (r.on ? start() : stop());
        return status();
      }),
    );
    s.on(
      'replay:control',
      handle(ReplayControlReq, () => {
        throw new UserError('not a replay: start the server with `packet-journey serve --replay FILE`');
      }),
    );
  };
  io.on('connection', onConnection);
  const starting = opts.record ? start() : Promise.resolve();
  starting.catch((e: unknown) => opts.log?.(`recording did not start: ${String(e)}`));
  return {
    close: async () => {
      io.off('connection', onConnection);
      await starting.catch(() => undefined);
      if (rec) await stop();
      watch.dispose();
    },
  };
}

/** Kernel actions in replay mode: one line each, nothing changed. */
export const REPLAY_REFUSALS: Partial<Record<ClientEvent, Msg>> = {
  'lab:run': msg('err.replay.lab'),
  'lab:prog': msg('err.replay.prog'),
  'tracer:follow': msg('err.replay.follow'),
  'tracer:live:start': msg('err.replay.live'),
  'capture:start': msg('err.replay.capture'),
  'capture:filter-check': msg('err.replay.filter'),
  'capture:note': msg('err.replay.readOnly'),
  'capture:delete': msg('err.replay.readOnly'),
  'classroom:view': msg('err.replay.view'),
  'replay:record': msg('err.replay.record'),
};

const REPLAY_LOADER: LoaderStatus = {
  state: 'stopped',
  restarts: 0,
  lastError: 'replay mode: no probe loader',
  emitted: 0,
  lost: 0,
  badLines: 0,
};

function replayMode(io: PjServer, relay: ViewRelay, session: ReplaySession): ReplayAttached {
  const player: Player = createPlayer(session.recording, {
    file: basename(session.path),
    speed: session.speed,
    captures: session.captures,
  });
  const status = (): ReplayStatus => ({ mode: 'replay', recording: null, saved: null, replay: player.status() });
  const show = (): void => {
    const v = player.view();
    if (v) relay.set(v);
  };
  show();
  const none = (what: string): never => {
    throw new UserError(msg('err.replay.none', { what }));
  };

  const gate: Attach = () => {
    const onConnection = (s: PjSocket): void => {
      s.use((packet, next) => {
        const [event, ...args] = packet as unknown[];
        const ack = args.at(-1);
        const answer = typeof ack === 'function' ? (ack as (a: Ack<unknown>) => void) : undefined;
        const refusal = REPLAY_REFUSALS[event as ClientEvent];
        if (refusal) return void answer?.(fail(refusal));
        if (event === 'tracer:live:stop') return void answer?.(ok(null));
        if (event === 'capture:targets') {
          const t = player.topology();
          return void answer?.(
            ok(
              (t?.namespaces ?? []).map((n) => ({
                netns: n.name,
                ifaces: n.interfaces.map((i) => ({ name: i.name, kind: i.kind, up: i.up })),
              })),
            ),
          );
        }
        next();
      });
      s.on(
        'replay:control',
        handle(ReplayControlReq, (r) => {
          player.control(r);
          return status();
        }),
      );
    };
    io.on('connection', onConnection);
    return () => io.off('connection', onConnection);
  };

  const watches: Attach = () => {
    const replay = createWatch(io, { topic: 'replay', current: status });
    const lab = createWatch(io, { topic: 'lab', current: () => player.lab() ?? none('lab status') });
    const loader = createWatch(io, { topic: 'tracer:status', current: () => REPLAY_LOADER });
    let labKey = JSON.stringify(player.lab() ?? null);
    const off = player.onChange(() => {
      show();
      replay.publish(status());
      const l = player.lab();
      const k = JSON.stringify(l ?? null);
      if (l && k !== labKey) lab.publish(l);
      labKey = k;
    });
    return () => {
      off();
      for (const w of [replay, lab, loader]) w.dispose();
    };
  };

  const topology = attachTopology({
    current: async () => player.topology() ?? none('topology'),
    get: async () => player.topology() ?? none('topology'),
    watch: (publish) => {
      let key = '';
      const send = (): void => {
        const t = player.topology();
        const k = t ? topologyKey(t) : '';
        if (t && k !== key) publish(t);
        key = k;
      };
      send();
      return player.onChange(send);
    },
  });

  return {
    // The gate first, so a refused event never reaches the capture handlers behind it.
    capabilities: [gate, watches, topology, attachCapture],
    close: async () => {
      player.dispose();
      await session.close();
    },
  };
}
