// Discovery: enumerates every network namespace (enumerate.ts), looks inside each with one batched
// `ip -j` (plus `bridge fdb` where there is a bridge), concurrently, and builds the graph.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Topology } from '../protocol/topology';
import { exec, inNetns } from '../sys/exec';
import { enumerate, nsInodeOfPid, type NsEntry } from './enumerate';
import { buildNamespaces, resolvePeers, type NsCollected } from './graph';
import { createProgramReader, withPrograms, type ProgramReader } from './bpf-programs';
import { IP_BATCH, parseFdb, parseIpBatch, parseNsids } from './iproute';
import { namedInode } from './namespaces';
import { nsPath, xargsInNetns } from './xargs';

export type { NsEntry } from './enumerate';

export interface DiscoverOptions {
  /** Parallel iproute2 processes; the cost is fork/exec, so a few per core is plenty. */
  readonly concurrency?: number;
  readonly dockerSocket?: string;
  /**
   * How namespaces are read: `xargs` (parallel chains of nsenter+ip, default), `all` (one
   * `ip -all netns exec` for named ones), `each` (one spawn from Node per namespace). For the bench.
   */
  readonly namedMode?: 'xargs' | 'all' | 'each';
  /** Parallel xargs chains (default 2, one per core here). */
  readonly streams?: number;
  /** Where attached BPF programs are read (bpf-programs.ts); `false` skips them (bench baseline). */
  readonly programs?: ProgramReader | false;
}

/** The process-wide program reader: its change signal and per-namespace results live across polls. */
const defaultPrograms = createProgramReader();

export interface Discovery {
  readonly topology: Topology;
  /** name -> how to enter it, for findNamespace. */
  readonly targets: ReadonlyMap<string, NsEntry>;
  /** Where the time went (bench and debugging). */
  readonly phasesMs: {
    readonly enumerate: number;
    readonly collect: number;
    readonly listIds: number;
    readonly build: number;
    /** Attached BPF programs, read beside the collection (so this overlaps `collect`). */
    readonly programs: number;
  };
}

/** Runs iproute2 inside one namespace. `ip -n` is cheapest for named ones (no nsenter exec). */
function toolArgv(e: NsEntry, tool: 'ip' | 'bridge', args: readonly string[]): string[] {
  if (e.target.kind === 'named') return [tool, '-n', e.target.name, ...args];
  return inNetns(e.target, tool, args);
}

async function stillSame(e: NsEntry): Promise<boolean> {
  if (e.target.kind === 'pid') return (await nsInodeOfPid(e.target.pid)) === e.inode;
  if (e.target.kind === 'named') return (await namedInode(e.target.name)) === e.inode;
  return true;
}

/**
 * Every `ip netns` namespace in ONE process tree: `ip -all netns exec ip -j -d -b FILE` forks from a
 * small C process, where spawning from Node costs ~4 ms per child here (fork of a big process). iproute2
 * prints `netns: NAME` before each namespace's output; a namespace that vanished prints nothing after it.
 */
async function collectAllNamed(): Promise<Map<string, string>> {
  const file = await batchFile();
  const r = await exec(['ip', '-all', 'netns', 'exec', 'ip', '-j', '-d', '-b', file], { timeoutMs: 20_000 });
  const out = new Map<string, string>();
  let cur: string | undefined;
  let buf: string[] = [];
  const flush = (): void => {
    if (cur !== undefined && buf.length > 0) out.set(cur, buf.join('\n'));
  };
  for (const line of r.stdout.split('\n')) {
    const m = /^netns: (.+)$/.exec(line);
    if (m) {
      flush();
      cur = m[1];
      buf = [];
    } else if (line.trim()) {
      buf.push(line);
    }
  }
  flush();
  return out;
}

/** The fast path: `ip -j -d -b FILE` in every namespace through xargs (see xargs.ts). */
async function collectXargs(entries: readonly NsEntry[], streams: number): Promise<Map<string, string> | undefined> {
  const file = await batchFile();
  return xargsInNetns(entries, ['ip', '-j', '-d', '-b', file], { streams, linesEach: IP_BATCH.length });
}

/**
 * `ip` output for every entry that has an nsfs path, keyed by entry name (null: the namespace is gone).
 * xargs first; if that run saw a namespace vanish, named ones are re-read with `ip -all netns exec`
 * (which labels its output) and process ones are left to per-namespace spawns.
 */
async function collectBatched(entries: readonly NsEntry[], opts: DiscoverOptions): Promise<Map<string, string | null>> {
  const mode = opts.namedMode ?? 'xargs';
  const out = new Map<string, string | null>();
  const named = entries.filter((e) => e.target.kind === 'named');
  if (mode === 'xargs') {
    const viaX = entries.filter((e) => nsPath(e) !== undefined);
    const m = viaX.length ? await collectXargs(viaX, opts.streams ?? 2) : new Map<string, string>();
    if (m) {
      for (const e of viaX) out.set(e.name, m.get(e.name) ?? null);
      return out;
    }
  }
  if (mode !== 'each' && named.length) {
    const byNetns = await collectAllNamed();
    for (const e of named) if (e.target.kind === 'named') out.set(e.name, byNetns.get(e.target.name) ?? null);
  }
  return out;
}

// `ip netns list-id` answers per namespace inode. Naming nsids makes iproute2 open every /var/run/netns
// entry, so answers are reused until a veth shows an nsid the cached answer lacks, or for LIST_ID_TTL_MS.
const listIdCache = new Map<number, { at: number; nsids: Map<number, string | undefined> }>();
const LIST_ID_TTL_MS = 30_000;

/**
 * Where ifindex matching leaves veths unresolved (e.g. identical pods on two nodes), asks `netns list-id`
 * in one namespace at a time, most unresolved veths first (a node resolves all its pods at once), until
 * everything is resolved or every such namespace was asked.
 */
async function nameAmbiguousPeers(ok: NsCollected[]): Promise<void> {
  const asked = new Set<number>();
  const now = Date.now();
  for (const [inode, c] of listIdCache) if (now - c.at > LIST_ID_TTL_MS) listIdCache.delete(inode);
  for (;;) {
    const { unresolved } = resolvePeers(ok);
    const next = [...unresolved].filter(([x]) => !asked.has(x)).sort((p, q) => q[1] - p[1])[0];
    if (next === undefined) return;
    const x = next[0];
    asked.add(x);
    const c = ok[x];
    if (!c) continue;
    const wanted = c.snap.interfaces.flatMap((f) =>
      f.kind === 'veth' && f.peerNsid !== undefined ? [f.peerNsid] : [],
    );
    let hit = listIdCache.get(c.meta.inode);
    if (!hit || wanted.some((id) => !hit?.nsids.has(id))) {
      const r = await exec(toolArgv(c.meta as NsEntry, 'ip', ['-j', 'netns', 'list-id']), { timeoutMs: 5000 });
      if (r.code !== 0) continue;
      hit = { at: Date.now(), nsids: parseNsids(r.stdout) };
      listIdCache.set(c.meta.inode, hit);
    }
    ok[x] = { ...c, snap: { ...c.snap, nsids: hit.nsids } };
  }
}

let batchPath: Promise<string> | undefined;
const RUN_DIR = '/run/packet-journey';

/**
 * The batch commands as a file: under xargs or -all every child shares stdin, so only the first would
 * read it. A fixed path in root's /run (not /tmp: predictable names there invite symlink games), written
 * atomically, so concurrent processes agree and nothing piles up.
 */
function batchFile(): Promise<string> {
  batchPath ??= (async () => {
    const f = join(RUN_DIR, 'ip-batch');
    const want = IP_BATCH.join('\n') + '\n';
    if ((await readFile(f, 'utf8').catch(() => '')) === want) return f;
    await mkdir(RUN_DIR, { recursive: true, mode: 0o700 });
    const tmp = `${f}.${process.pid}`;
    await writeFile(tmp, want, { mode: 0o600 });
    await rename(tmp, f);
    return f;
  })();
  return batchPath;
}

/**
 * Looks inside one namespace; undefined when it vanished meanwhile (or a pid was reused). `pre` is its
 * `ip` output when a batch runner already read it, null when the runner found it gone, undefined to
 * spawn `ip` here.
 */
async function collect(e: NsEntry, warnings: string[], pre?: string | null): Promise<NsCollected | undefined> {
  let stdout: string;
  if (pre === null) return undefined;
  if (pre !== undefined) {
    stdout = pre;
  } else {
    const r = await exec(toolArgv(e, 'ip', ['-j', '-d', '-b', '-']), {
      input: IP_BATCH.join('\n') + '\n',
      timeoutMs: 5000,
    });
    if (r.code !== 0) {
      if (await stillSame(e)) warnings.push(`${e.name}: ip failed: ${r.stderr.trim().split('\n')[0] ?? ''}`);
      return undefined;
    }
    stdout = r.stdout;
  }
  const snap = parseIpBatch(stdout);
  if (snap.badElements > 0) warnings.push(`${e.name}: skipped ${snap.badElements} unparsable iproute2 entries`);
  let fdb: NsCollected['fdb'];
  if (snap.interfaces.some((f) => f.kind === 'bridge')) {
    const b = await exec(toolArgv(e, 'bridge', ['-j', '-s', 'fdb', 'show']), { timeoutMs: 5000 });
    if (b.code === 0) {
      const p = parseFdb(b.stdout);
      if (p.bad > 0) warnings.push(`${e.name}: skipped ${p.bad} unparsable FDB entries`);
      fdb = p.entries;
    } else if (!(await stillSame(e))) {
      return undefined;
    }
  }
  // A pid namespace could have been swapped under us (process exited, pid reused): check after reading.
  if (!(await stillSame(e))) return undefined;
  return { meta: e, snap, ...(fdb !== undefined ? { fdb } : {}) };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function discover(opts: DiscoverOptions = {}): Promise<Discovery> {
  const t0 = performance.now();
  const { entries, warnings } = await enumerate(opts.dockerSocket);
  const t1 = performance.now();
  // Host runs beside the batch runners; anything they did not cover is spawned on its own.
  const hostFirst = entries.filter((e) => e.target.kind === 'host');
  const rest = entries.filter((e) => e.target.kind !== 'host');
  const reader = opts.programs ?? defaultPrograms;
  let tp = 0;
  const progsRead = reader
    ? reader.read(entries).then((r) => {
        tp = performance.now() - t1;
        return r;
      })
    : undefined;
  const [a, b] = await Promise.all([
    collectBatched(rest, opts).then((pre) =>
      mapLimit(rest, opts.concurrency ?? 8, (e) => collect(e, warnings, pre.has(e.name) ? pre.get(e.name) : undefined)),
    ),
    Promise.all(hostFirst.map((e) => collect(e, warnings))),
  ]);
  const collected = [...a, ...b];
  const t2 = performance.now();
  const ok = collected.filter((c): c is NsCollected => c !== undefined);
  await nameAmbiguousPeers(ok);
  const t3a = performance.now();
  const namespaces = buildNamespaces(ok);
  const t3 = performance.now();
  const targets = new Map<string, NsEntry>();
  for (const c of ok) targets.set(c.meta.name, c.meta as NsEntry);
  const base: Topology = { namespaces, warnings, discoveredAt: 0, durationMs: 0 };
  const withProgs = progsRead ? withPrograms(base, await progsRead) : base;
  return {
    topology: {
      ...withProgs,
      discoveredAt: Date.now(),
      durationMs: Math.round((performance.now() - t0) * 10) / 10,
    },
    targets,
    phasesMs: { enumerate: t1 - t0, collect: t2 - t1, listIds: t3a - t2, build: t3 - t3a, programs: tp },
  };
}
