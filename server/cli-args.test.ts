import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cli } from '../test/cli';
import { UsageError, flagHelp, parseArgs } from './cli-args';

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
  });
  it.each([
    [['lab'], 'missing action'],
    [['lab', 'sideways'], 'unknown action "sideways"'],
    [['lab', 'up', '--scenario', 'nope'], '--scenario must be one of'],
    [['lab', 'status', '--bogus'], 'unknown option --bogus'],
    [['serve', '--port', 'x'], '--port must be an integer'],
    [['serve', '--host', 'a b'], 'is not an address'],
  ])('lab/serve reject %j', (argv, msg) => {
    const r = cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
