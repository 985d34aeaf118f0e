// `packet-journey capture -w PATH` (issue 15, item 5): the CLI writes exactly where it is told, creates
// nothing else, and overwrites only with --force. Real tcpdump in a namespace of our own (pjt-dec-cli),
// so run it under the lab lock. The web API's names stay confined to the captures folder (last block).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureStartReq } from '../protocol/capture';
import { readCaptureFile } from './pcap';
import { capturePath } from './store';
import { CaptureError } from './targets';

const NS = 'pjt-dec-cli';
const root = mkdtempSync(join(tmpdir(), 'pjt-dec-cli-'));
const out = join(root, 'out');
const folder = join(root, 'captures-folder-never-made');

const CLI = [join(process.cwd(), 'node_modules/.bin/tsx'), join(process.cwd(), 'server/cli.ts'), 'capture'];

/** Runs `capture --netns NS --iface lo ARGS` (in `cwd`), and with `ping` while the namespace pings itself. */
function cli(
  args: readonly string[],
  opts: { ping?: boolean; cwd?: string } = {},
): { status: number | null; stderr: string } {
  const argv = [...CLI, '--netns', NS, '--iface', 'lo', ...args];
  // The arguments reach bash as its positional parameters, never as shell text.
  const script = opts.ping
    ? `(while :; do ip netns exec ${NS} ping -c 1 -W 1 127.0.0.1 >/dev/null; sleep 0.2; done) & P=$!; "$@"; R=$?; kill $P; exit $R`
    : '"$@"';
  const r = spawnSync('bash', ['-c', script, 'bash', ...argv], {
    encoding: 'utf8',
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, PJ_CAPTURE_DIR: folder },
    timeout: 40_000,
  });
  return { status: r.status, stderr: r.stderr };
}
const capture = (...args: string[]): { status: number | null; stderr: string } =>
  cli(['--filter', 'icmp', '--count', '2', '--seconds', '20', ...args], { ping: true });

beforeAll(() => {
  spawnSync('ip', ['netns', 'del', NS]);
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  execFileSync('mkdir', [out]);
});

afterAll(() => {
  spawnSync('ip', ['netns', 'del', NS]);
  rmSync(root, { recursive: true, force: true });
});

describe('capture -w PATH', () => {
  it('writes an absolute path exactly there, a pcapng tshark reads, and creates nothing else', () => {
    const path = join(out, 'abs.pcap');
    const r = capture('-w', path);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`-> ${path}`);
    expect(readdirSync(out)).toEqual(['abs.pcap']);
    expect(existsSync(folder)).toBe(false);
    const file = readCaptureFile(readFileSync(path));
    expect(file.records).toHaveLength(2);
    const tshark = execFileSync('tshark', ['-r', path, '-T', 'fields', '-e', 'ip.src'], { encoding: 'utf8' });
    expect(tshark.trim().split('\n')).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('refuses to overwrite an existing file without --force, and leaves it as it was', () => {
    const path = join(out, 'keep.pcapng');
    writeFileSync(path, 'precious');
    const r = capture('-w', path);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`packet-journey capture: ${path} exists; pass --force to overwrite it`);
    expect(readFileSync(path, 'utf8')).toBe('precious');
  });

  it('overwrites it with --force', () => {
    const path = join(out, 'keep.pcapng');
    const r = capture('-w', path, '--force');
    expect(r.status, r.stderr).toBe(0);
    expect(readCaptureFile(readFileSync(path)).records).toHaveLength(2);
  });

  it('never writes through a symlink, even with --force', () => {
    const target = join(root, 'target');
    writeFileSync(target, 'untouched');
    const link = join(out, 'link.pcapng');
    symlinkSync(target, link);
    const r = capture('-w', link, '--force');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is a symlink; refusing to write through it');
    expect(readFileSync(target, 'utf8')).toBe('untouched');
  });

  it('a relative path (./x) is relative to the working directory', () => {
    const r = cli(['--filter', 'icmp', '--count', '2', '--seconds', '20', '-w', './rel.pcapng'], {
      ping: true,
      cwd: out,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readCaptureFile(readFileSync(join(out, 'rel.pcapng'))).records).toHaveLength(2);
  });

  it('bad input creates nothing: a missing directory, a bad filter', () => {
    const r1 = capture('-w', join(root, 'no-such-dir', 'x.pcapng'));
    expect(r1.status).toBe(2);
    expect(r1.stderr.trim()).toMatch(/no-such-dir is not a directory$/);
    expect(existsSync(join(root, 'no-such-dir'))).toBe(false);
    const before = readdirSync(out).sort();
    const r2 = cli(['--filter', 'tcp port', '-w', join(out, 'bad.pcapng')]);
    expect(r2.status).toBe(2);
    expect(r2.stderr.trim()).toMatch(/^packet-journey capture: bad filter: /);
    expect(readdirSync(out).sort()).toEqual(before);
    expect(existsSync(folder)).toBe(false);
  });

  it('--force without a path is refused (captures-folder names are never overwritten)', () => {
    const r = cli(['-w', 'x.pcapng', '--force']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--force is for -w PATH');
  });
});

describe('the web API stays confined to the captures folder', () => {
  it('capture:start names are plain names: CaptureStartReq refuses paths', () => {
    for (const name of ['/tmp/x.pcapng', '../x.pcapng', 'a/b.pcapng'])
      expect(CaptureStartReq.safeParse({ netns: 'host', iface: 'lo', name }).success, name).toBe(false);
  });

  it('capturePath refuses anything that would leave the folder', () => {
    for (const name of ['/etc/x.pcapng', '../escape.pcapng', 'a/../../b.pcapng'])
      expect(() => capturePath(name, '/srv/captures'), name).toThrow(CaptureError);
    expect(capturePath('ok.pcapng', '/srv/captures')).toBe('/srv/captures/ok.pcapng');
  });
});
