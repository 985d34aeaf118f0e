// Captures in a namespace that only a process holds (as a container's is: no `ip netns` name), reached
// through /proc/PID/ns/net. The topology names it `<comm>-<inode>`; capture resolves that same name.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNamespace } from '../topology/index';
import { CaptureManager } from './manager';

const mgr = new CaptureManager();
let holder: ChildProcess;
let name = '';

beforeAll(async () => {
  // A process in a fresh netns with lo up; `sleep` keeps it alive and names it.
  holder = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up && exec sleep 60'], { stdio: 'ignore' });
  const pid = holder.pid as number;
  for (
    let i = 0;
    i < 100 && spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).stdout.trim() !== 'sleep';
    i++
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  name = `sleep-${statSync(`/proc/${pid}/ns/net`).ino}`;
});

afterAll(async () => {
  await mgr.stopAll();
  holder?.kill('SIGKILL');
});

describe('capture in a process-held namespace', () => {
  it('resolves the namespace by its topology name to the process', async () => {
    const ref = await findNamespace(name);
    expect(ref?.target.kind).toBe('pid');
  });

  it('captures a ping on its loopback', async () => {
    const c = await mgr.start({ netns: name, iface: 'lo', filter: 'icmp', count: 2, save: false });
    c.watch({ rows: () => undefined, status: () => undefined });
    const ping = spawnSync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, '--', 'ping', '-c1', '-W1', '127.0.0.1'], {
      encoding: 'utf8',
    });
    expect(ping.status, ping.stderr).toBe(0);
    await c.done;
    expect(c.info().packets).toBe(2);
    expect(c.detail(0)?.packet.summary).toMatch(/127\.0\.0\.1 > 127\.0\.0\.1: ICMP echo request/);
  });

  it('refuses a process namespace name that does not exist', async () => {
    await expect(mgr.start({ netns: 'sleep-1', iface: 'lo', filter: '', save: false })).rejects.toThrow(/namespace/);
  });
});
