// `trace` and `trace --flows` through a running server (its loader, over its socket) against `--local`
// (the command's own loader): the same journeys and records either way, the same one-line error, and the
// server's kernel slot released once the command has exited. Real lab, real server in token mode, the
// real CLI as a user runs it, real pings.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startServe, stopServe } from '../../test/cli';
import { connectLean, type LeanSocket } from '../cli-socket';
import { labUp } from '../lab/index';
import { FlowsState } from '../protocol/flows';
import { Journey, LoaderStatus, type Hop } from '../protocol/tracer';
import { serverToUse } from '../running-server';

const PORT = 3206;

const podIp = (ns: string): string => {
  const out = spawnSync('ip', ['netns', 'exec', ns, 'ip', '-4', '-o', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
  const m = /inet (\d+\.\d+\.\d+\.\d+)/.exec(out.stdout);
  if (!m?.[1]) throw new Error(`no IPv4 address on ${ns} eth0: ${out.stderr}`);
  return m[1];
};
const ping = (): void =>
  void spawnSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-c', '1', '-W', '1', podIp('pod-c')], { timeout: 5000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('trace through a running server equals trace --local (real lab)', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'pjt-i14trace-run-'));
  const env = { ...process.env, PJ_RUN_DIR: runDir, PJ_DEBUG: '1' };
  let server: ChildProcess | undefined;

  /** Runs the CLI, pinging pod-a → pod-c every 200 ms until it exits. */
  const runCli = async (args: readonly string[]) => {
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    let exited = false;
    void code.then(() => (exited = true));
    const killer = setTimeout(() => p.kill('SIGINT'), 40_000);
    while (!exited) {
      ping();
      await sleep(200);
    }
    clearTimeout(killer);
    return { status: await code, stdout, stderr };
  };
  /** A socket of the test's own to the server, to read its loader and flow view. */
  const probe = async (): Promise<LeanSocket> => {
    process.env.PJ_RUN_DIR = runDir;
    const found = serverToUse();
    if (!('server' in found)) throw new Error('no server found');
    return connectLean(found.server.url, { token: found.token, timeoutMs: 2000 });
  };
  const loaderStatus = async (s: LeanSocket): Promise<LoaderStatus> => {
    const a = await s.request('tracer:status:watch', {}, 5000);
    if (!a.ok) throw new Error(a.error);
    s.emit('tracer:status:unwatch', undefined);
    return LoaderStatus.parse(a.value);
  };
  const shape = (hops: readonly Hop[]) => hops.map((h) => `${h.netns}/${h.ifname}/${h.dir}/${h.hook}`);
  const journeysOf = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((l) => Journey.parse(JSON.parse(l)));

  beforeAll(async () => {
    expect(spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')]).status).toBe(0);
    await labUp();
    server = await startServe(['--port', String(PORT), '--require-tokens'], env);
  }, 120_000);

  afterAll(async () => {
    delete process.env.PJ_RUN_DIR;
    await stopServe(server);
    rmSync(runDir, { recursive: true, force: true });
  });

  it('trace --filter through the server prints the journeys --local prints, then frees the slot', async () => {
    const expr = `icmp[icmptype] == icmp-echo and dst host ${podIp('pod-c')}`;
    const args = ['trace', '--filter', expr, '--netns', 'pod-a', '--count', '3'];
    const s = await probe();
    try {
      const before = await loaderStatus(s);
      const remote = await runCli(args);
      expect(remote.status, remote.stderr).toBe(0);
      expect(remote.stderr).toMatch(new RegExp(`connected to the server at http://127\\.0\\.0\\.1:${PORT}`));
      // (The loader's counters reach the server about once a second.)
      await sleep(1500);
      const during = await loaderStatus(s);
      expect(during.emitted).toBeGreaterThan(before.emitted);

      // Released: the same pings now reach no subscriber, so the server's loader emits nothing more.
      const after = await loaderStatus(s);
      for (let i = 0; i < 5; i++) ping();
      await sleep(1500);
      const later = await loaderStatus(s);
      expect(later.state !== 'ready' || later.emitted === after.emitted).toBe(true);

      const local = await runCli([...args, '--local']);
      expect(local.status, local.stderr).toBe(0);
      expect(local.stderr).not.toMatch(/connected to the server/);

      const [r, l] = [journeysOf(remote.stdout), journeysOf(local.stdout)];
      expect(r).toHaveLength(3);
      expect(l).toHaveLength(3);
      for (const j of [...r, ...l]) expect(j.hops[0]?.netns).toBe('pod-a');
      // The same JSON, key for key (the raw lines, not the parsed ones: what a user's jq reads).
      const keys = (line: string) => Object.keys(JSON.parse(line) as object).sort();
      const [rl, ll] = [remote.stdout.trim().split('\n'), local.stdout.trim().split('\n')];
      expect(keys(rl[0] ?? '')).toEqual(keys(ll[0] ?? ''));
      expect(shape((r[0] as Journey).hops)).toEqual(shape((l[0] as Journey).hops));
    } finally {
      s.close();
    }
  }, 120_000);

  it('Ctrl-C ends a trace through the server; a flood past its budget is reported as dropped', async () => {
    const p = spawn(process.execPath, [BIN, 'trace', '--filter', 'icmp', '--netns', 'pod-a'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const running = new Promise<void>((resolve) =>
      p.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        if (stderr.includes('the live view runs on the server')) resolve();
      }),
    );
    const code = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
    await running;
    // ~2000 echo requests and their replies within a second or two: far past 10 journeys per 50 ms.
    spawnSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-f', '-q', '-c', '2000', podIp('pod-c')], { timeout: 20_000 });
    await sleep(1000);
    p.kill('SIGINT');
    expect(await code, stderr).toBe(0);
    const journeys = journeysOf(stdout);
    expect(journeys.length).toBeGreaterThan(0);
    // Budgeted: fewer printed than the 4000 packets, and the rest said on stderr.
    expect(journeys.length).toBeLessThan(4000);
    const m = /packet-journey trace: (\d+) journeys dropped \(the server's live view sends at most 10 per 50 ms/.exec(
      stderr,
    );
    expect(m, stderr).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThan(100);
  }, 60_000);

  it('a bad expression through the server is the same one-line error and exit 2, nothing started', async () => {
    const s = await probe();
    try {
      await sleep(1500);
      const before = await loaderStatus(s);
      const run = (extra: string[]) =>
        spawnSync(process.execPath, [BIN, 'trace', '--filter', 'tcp port', ...extra], { encoding: 'utf8', env });
      const [r, l] = [run([]), run(['--local'])];
      expect(r.stderr).toMatch(/connected to the server/);
      const errorLine = (x: string) => x.split('\n').filter((y) => /^packet-journey trace: [^[c]/.test(y));
      expect(r.status).toBe(2);
      expect(l.status).toBe(2);
      expect(errorLine(r.stderr)).toHaveLength(1);
      expect(errorLine(r.stderr)).toEqual(errorLine(l.stderr));
      await sleep(1500);
      const after = await loaderStatus(s);
      expect(after.emitted).toBe(before.emitted);
    } finally {
      s.close();
    }
  }, 60_000);

  it('trace --flows --json through the server prints FlowsState records, then the view stops', async () => {
    const remote = await runCli(['trace', '--flows', '--json', '--seconds', '4']);
    expect(remote.status, remote.stderr).toBe(0);
    expect(remote.stderr).toMatch(/connected to the server/);
    const records = remote.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const r of records) {
      expect(r.type).toBe('flows');
      FlowsState.parse(r);
    }
    const seqs = records.map((r) => (r as unknown as FlowsState).seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    // The view was off before this command: its first tick (1; 0 is the state before any) is printed.
    expect(seqs[0]).toBe(1);
    const last = records.at(-1) as unknown as FlowsState;
    expect(last.flows.some((f) => f.proto === 'icmp' && f.dst === podIp('pod-c'))).toBe(true);

    const local = await runCli(['trace', '--flows', '--json', '--seconds', '2', '--local']);
    expect(local.status, local.stderr).toBe(0);
    const localFirst = JSON.parse(local.stdout.trim().split('\n')[0] ?? '{}') as FlowsState;
    expect(localFirst.seq).toBe(1);
    expect(Object.keys(records[0] as object).sort()).toEqual(Object.keys(localFirst).sort());

    // The server stops its view a second after its last watcher leaves (FLOWS_IDLE_MS): not running now.
    await sleep(2000);
    const s = await probe();
    try {
      const a = await s.request('flows:watch', {}, 5000);
      s.emit('flows:unwatch', undefined);
      expect(a.ok && FlowsState.parse(a.value).running).toBe(false);
    } finally {
      s.close();
    }
  }, 120_000);
});
