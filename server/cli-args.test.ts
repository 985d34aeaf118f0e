import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cli } from '../test/cli';
import { z } from 'zod';
import { CaptureStartReq } from './protocol/capture';
import { FollowRequest } from './protocol/tracer';
import { UsageError, flagHelp, parseArgs, parseRequest } from './cli-args';

const SPECS = {
  json: { type: 'boolean', help: 'json' },
  port: { type: 'number', help: 'port', min: 1, max: 65535 },
  proto: { type: 'enum', values: ['icmp', 'tcp', 'udp'], help: 'protocol' },
  from: { type: 'string', help: 'source', short: 'f' },
} as const;

describe('parseArgs', () => {
  it('parses flags, values, = forms, short flags and positionals', () => {
    const p = parseArgs(['up', '--json', '--port=8080', '--proto', 'tcp', '-f', 'pod-a', 'extra'], SPECS);
    expect(p.flags).toEqual({ json: true, port: 8080, proto: 'tcp', from: 'pod-a' });
    expect(p.positionals).toEqual(['up', 'extra']);
    expect(p.help).toBe(false);
  });
  it('defaults booleans to false and leaves the rest undefined', () => {
    const p = parseArgs([], SPECS);
    expect(p.flags.json).toBe(false);
    expect(p.flags.port).toBeUndefined();
  });
  it.each([
    [['--nope'], 'unknown option --nope'],
    [['-x'], 'unknown option -x'],
    [['--port'], '--port needs a value'],
    [['--port', 'abc'], '--port must be an integer, got "abc"'],
    [['--port', '0'], '--port must be ≥ 1'],
    [['--port', '70000'], '--port must be ≤ 65535'],
    [['--proto', 'sctp'], '--proto must be one of icmp|tcp|udp, got "sctp"'],
    [['--json=yes'], '--json takes no value'],
    [['--from', '--json'], '--from needs a value'],
  ])('rejects %j with a one-line error', (argv, msg) => {
    expect(() => parseArgs(argv, SPECS)).toThrow(UsageError);
    expect(() => parseArgs(argv, SPECS)).toThrow(msg);
  });
  it('sees --help anywhere', () => {
    expect(parseArgs(['up', '--help'], SPECS).help).toBe(true);
  });
  it('documents every flag in help', () => {
    const h = flagHelp(SPECS);
    for (const f of ['--json', '--port N', '--proto icmp|tcp|udp', '-f, --from FROM', '-h, --help'])
      expect(h).toContain(f);
  });
});

describe('parseRequest (flag checks derived from the wire schemas)', () => {
  const follow = (req: Record<string, unknown>) => () => parseRequest(FollowRequest, req, { timeoutMs: '--timeout' });
  it.each([
    [{}, '--from is required'],
    [{ from: '', to: 'pod-b' }, '--from is required'],
    [{ from: 'pod-a' }, '--to is required'],
    [{ from: '../etc', to: 'pod-b' }, '--from: not a valid namespace name'],
    [{ from: 'pod-a', to: 'a b' }, '--to: not an IP or namespace name'],
    [{ from: 'pod-a', to: 'pod-b', port: 0 }, '--port must be ≥ 1'],
    [{ from: 'pod-a', to: 'pod-b', port: 70000 }, '--port must be ≤ 65535'],
    [{ from: 'pod-a', to: 'pod-b', timeoutMs: 100 }, '--timeout must be ≥ 200'],
    [{ from: 'pod-a', to: 'pod-b', proto: 'sctp' }, '--proto must be one of icmp|tcp|udp, got "sctp"'],
    // A bad value the user typed is reported before a flag they have not given yet.
    [{ port: 0 }, '--port must be ≥ 1'],
  ])('FollowRequest %j -> %s', (req, msg) => {
    expect(follow(req)).toThrow(UsageError);
    expect(follow(req)).toThrow(msg);
  });
  it('returns the parsed request with the schema defaults', () => {
    expect(parseRequest(FollowRequest, { from: 'pod-a', to: '10.244.2.2', proto: undefined })).toEqual({
      from: 'pod-a',
      to: '10.244.2.2',
      proto: 'icmp',
      timeoutMs: 3000,
      rules: false,
    });
  });
  it('names a field after the flag that fills it, and passes other messages through', () => {
    const start = (req: Record<string, unknown>) => () => parseRequest(CaptureStartReq, req, { name: '-w' });
    expect(start({ netns: 'host', iface: 'lo', name: 'x.pcap' })).toThrow(
      '-w: capture names are letters, digits, _ . - and end in .pcapng',
    );
    expect(start({ netns: 'host', iface: 'lo', filter: 'a\u0001' })).toThrow(
      '--filter: filter contains control characters',
    );
    expect(start({ netns: 'host', iface: 'lo', count: 1e8 })).toThrow('--count must be ≤ 10000000');
    expect(() => parseRequest(z.object({ n: z.number().gt(0) }), { n: 0 })).toThrow('--n must be > 0');
  });
});

describe('packet-journey CLI', () => {
  it('prints usage with --help and exits 0', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const v of ['lab', 'topology', 'follow', 'decode', 'capture', 'serve']) expect(r.stdout).toContain(v);
  });
  it('runs through the package bin (what `npx packet-journey` calls) and passes the exit code on', () => {
    const bin = join(ROOT, 'bin', 'packet-journey.mjs');
    const ok = spawnSync(process.execPath, [bin, 'lab', '--help'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('usage: packet-journey lab');
    const bad = spawnSync(process.execPath, [bin, 'nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
  it('rejects an unknown verb with one line and exit 2', () => {
    const r = cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown verb "frobnicate"');
  });
  it('gives lab and serve a --help', () => {
    for (const verb of ['lab', 'serve']) {
      const r = cli([verb, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`usage: packet-journey ${verb}`);
    }
    const serve = cli(['serve', '--help']).stdout;
    for (const f of ['--replay FILE', '--record FILE', '--speed X']) expect(serve).toContain(f);
  });
  it.each([
    [['lab'], 'missing action'],
    [['lab', 'sideways'], 'unknown action "sideways"'],
    [['lab', 'up', '--scenario', 'nope'], '--scenario must be one of'],
    [['lab', 'status', '--bogus'], 'unknown option --bogus'],
    [['serve', '--port', 'x'], '--port must be an integer'],
    [['serve', '--host', 'a b'], 'is not an address'],
    [['serve', '--replay', 'x.pjrec', '--record', 'y.pjrec'], '--record and --replay do not go together'],
    [['serve', '--speed', '2'], '--speed needs --replay FILE'],
    [['serve', '--replay', 'x.pjrec', '--speed', 'fast'], '--speed must be a number from 0.1 to 20, got "fast"'],
    [['serve', '--replay', 'x.pjrec', '--speed', '50'], '--speed must be a number from 0.1 to 20'],
    [['serve', '--record', '/no/such/dir/x.pjrec'], '--record: no folder /no/such/dir'],
    // follow and capture check their flags with FollowRequest / CaptureStartReq, before anything runs.
    [['follow'], '--from is required'],
    [['follow', '--from', 'pod-a', '--to', 'pod-b', '--timeout', '100'], '--timeout must be ≥ 200'],
    [['follow', '--from', 'pod/a', '--to', 'pod-b'], '--from: not a valid namespace name'],
    [['follow', '--from', 'pod-a', '--to', 'pod-b', '--port', '80'], '--port needs --proto tcp or udp'],
    [['capture', '--netns', 'host'], '--iface is required'],
    [['capture', '--netns', 'host', '-i', 'lo', '-c', '0'], '--count must be ≥ 1'],
    [['capture', '--netns', 'host', '-i', 'lo', '-w', 'x.pcap'], '-w: capture names are'],
  ])('lab/serve/follow/capture reject %j', (argv, msg) => {
    const r = cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
