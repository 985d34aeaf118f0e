// docker-compose.yml can't be run here (no images can be pulled), so its structure is checked instead:
// validity by docker-compose itself, then what eBPF, netns and Docker discovery need.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ROOT } from './cli';

const Compose = z.object({
  services: z.record(
    z.string(),
    z.object({
      build: z.union([z.string(), z.object({ context: z.string() })]),
      network_mode: z.string(),
      pid: z.string(),
      privileged: z.boolean().optional(),
      cap_add: z.array(z.string()),
      volumes: z.array(z.string()),
    }),
  ),
});

describe('docker-compose.yml', () => {
  it('is valid for docker-compose', () => {
    const r = spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  });

  const compose = Compose.parse(parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')));
  const svc = compose.services['packet-journey'];

  it('shares the host network and pid namespaces, without --privileged', () => {
    expect(svc?.network_mode).toBe('host');
    expect(svc?.pid).toBe('host');
    expect(svc?.privileged).not.toBe(true);
  });

  it('has the capabilities eBPF, netns and tcpdump need', () => {
    expect(svc?.cap_add).toEqual(expect.arrayContaining(['BPF', 'PERFMON', 'NET_ADMIN', 'SYS_ADMIN', 'NET_RAW']));
  });

  it('mounts BTF, bpffs, tracing, named netns and the Docker socket', () => {
    const targets = (svc?.volumes ?? []).map((v) => v.split(':')[1]);
    for (const t of [
      '/sys/kernel/btf',
      '/sys/fs/bpf',
      '/sys/kernel/tracing',
      '/var/run/netns',
      '/var/run/docker.sock',
    ]) {
      expect(targets).toContain(t);
    }
  });

  it('builds from a Dockerfile that installs the probe toolchain and starts the server', () => {
    const df = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(df).toMatch(/^FROM node:20-bookworm/m);
    for (const p of ['tcpdump', 'clang', 'libbpf-dev', 'bpftool', 'iproute2']) expect(df).toContain(p);
    expect(df).toMatch(/CMD .*server\/cli\.ts serve/);
  });
});
