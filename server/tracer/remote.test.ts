// `follow` through a running server (its warm loader, over its socket) against `follow --local` (the
// command's own loader): the same journey either way. Real lab, real server (token mode, so the CLI must
// present the instructor token from the tokens file), the real CLI as a user runs it.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startServe, stopServe } from '../../test/cli';
import { labUp } from '../lab/index';
import { writeRecording } from '../replay/format';
import type { Hop, Journey } from '../protocol/tracer';
import { testHeader } from '../replay/test-fixtures';

const PORT = 3341;

describe('follow through a running server equals follow --local (real lab)', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'pjt-i14cli-run-'));
  const env = { ...process.env, PJ_RUN_DIR: runDir, PJ_DEBUG: '1' };
  let server: ChildProcess | undefined;

  const followCli = (extra: readonly string[]) => {
    const r = spawnSync(process.execPath, [BIN, 'follow', '--from', 'pod-a', '--to', 'pod-c', '--json', ...extra], {
      encoding: 'utf8',
      env,
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return { journey: JSON.parse(r.stdout) as Journey, stderr: r.stderr };
  };
  const shape = (hops: readonly Hop[]) => hops.map((h) => `${h.netns}/${h.ifname}/${h.dir}/${h.hook}`);

  beforeAll(async () => {
    expect(spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')]).status).toBe(0);
    await labUp();
    server = await startServe(['--port', String(PORT), '--require-tokens'], env);
  });

  afterAll(async () => {
    await stopServe(server);
    rmSync(runDir, { recursive: true, force: true });
  });

  it('finds the server by its marker, follows through it, and gives the journey --local gives', () => {
    expect(readdirSync(join(runDir, 'servers'))).toEqual([`${server?.pid}-${PORT}.json`]);
    const remote = followCli([]);
    expect(remote.stderr).toMatch(new RegExp(`connected to the server at http://127\\.0\\.0\\.1:${PORT}`));
    const local = followCli(['--local']);
    expect(local.stderr).toMatch(/with this command's own probe loader/);
    expect(local.stderr).not.toMatch(/connected to the server/);

    const [r, l] = [remote.journey, local.journey];
    expect(r.delivered).toBe(true);
    expect(l.delivered).toBe(true);
    expect(Object.keys(r).sort()).toEqual(Object.keys(l).sort());
    expect(shape(r.hops)).toEqual(shape(l.hops));
    expect(shape(r.reply?.hops ?? [])).toEqual(shape(l.reply?.hops ?? []));
    expect(r.hops.length).toBeGreaterThan(5);
    expect(r.lanes).toEqual(l.lanes);
  });

  it('a bad follow through the server is the same one-line error and exit 2', () => {
    const r = spawnSync(process.execPath, [BIN, 'follow', '--from', 'pod-a', '--to', 'nowhere'], {
      encoding: 'utf8',
      env,
    });
    const l = spawnSync(process.execPath, [BIN, 'follow', '--local', '--from', 'pod-a', '--to', 'nowhere'], {
      encoding: 'utf8',
      env,
    });
    expect(r.stderr).toMatch(/connected to the server/);
    const errorLine = (s: string) => s.split('\n').filter((x) => /^packet-journey follow: [^[]/.test(x));
    expect(r.status).toBe(2);
    expect(l.status).toBe(2);
    expect(errorLine(r.stderr)).toEqual(errorLine(l.stderr));
    expect(errorLine(r.stderr)).toEqual([
      expect.stringMatching(/^packet-journey follow: unknown destination "nowhere"/),
    ]);
  });

  it('the marker goes when the server stops, and the next follow starts its own loader', async () => {
    await stopServe(server);
    expect(existsSync(join(runDir, 'servers', `${server?.pid}-${PORT}.json`))).toBe(false);
    const after = followCli([]);
    expect(after.stderr).toMatch(/with this command's own probe loader/);
    expect(after.journey.delivered).toBe(true);
  });
  it('a replay server leaves no marker: a follow there would only get "replay mode"', async () => {
    const file = join(runDir, 'empty.pjrec');
    await writeRecording(file, {
      header: testHeader(),
      entries: [],
    });
    const before = readdirSync(join(runDir, 'servers'));
    const replay = await startServe(['--replay', file, '--port', String(PORT + 1)], env);
    try {
      expect(readdirSync(join(runDir, 'servers'))).toEqual(before);
    } finally {
      await stopServe(replay);
    }
  });
});
