// The fast CLI (issue 14): the bundle setup builds runs, stays lazy, is noticed stale when a source
// changes and rebuilt by the next build; setup's link puts `packet-journey` on the PATH without
// overwriting anything that is not ours.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './cli';

const BIN = join(ROOT, 'bin', 'packet-journey.mjs');
const run = (bin: string, args: readonly string[], env: Record<string, string> = {}) => {
  const t = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t };
};

/** Packages each dist/ file loads when it is evaluated (static imports, not the lazy `import()`s). */
function staticPackages(entry: string): Set<string> {
  const seen = new Set<string>();
  const pkgs = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/gm)) {
      const spec = m[1] as string;
      if (spec.startsWith('./')) walk(join(dirname(file), spec));
      else pkgs.add(spec);
    }
  };
  walk(entry);
  return pkgs;
}

describe('the built CLI', () => {
  beforeAll(() => {
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
  });

  it('runs the bundle, and --help lists the verbs and exits 0', () => {
    const v = run(BIN, ['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^packet-journey \d+\.\d+\.\d+ \(bundle dist\/cli\.mjs, built /);
    const h = run(BIN, ['--help'], { PJ_DEBUG: '1' });
    expect(h.code).toBe(0);
    expect(h.stderr).toMatch(/^packet-journey: bundle dist\/cli\.mjs/);
    for (const verb of ['lab', 'topology', 'follow', 'decode', 'capture', 'serve']) {
      expect(h.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    }
    // tsx alone takes about 0.5 s to start; the bundle a tenth of that (the bench has the real figures).
    expect(h.ms).toBeLessThan(2000);
  });

  it('an unknown verb is one line on stderr and exit 2', () => {
    const r = run(BIN, ['bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('packet-journey: unknown verb "bogus" (try --help)\n');
  });

  it('--help and the dispatcher load no heavy package: each verb loads its own', () => {
    const pkgs = [...staticPackages(join(ROOT, 'dist', 'cli.mjs'))];
    expect(pkgs.length).toBeGreaterThan(0); // the banner's node:module at least: the walk found imports
    expect(pkgs.filter((p) => !p.startsWith('node:'))).toEqual([]);
    // `serve` does load Next, through its own chunk: the walk does see packages when they are there.
    const serve = readFileSync(join(ROOT, 'dist', 'cli.mjs'), 'utf8').match(/import\("\.\/(serve-cli-[^"]+)"\)/);
    expect(serve).not.toBeNull();
    const index = readFileSync(join(ROOT, 'dist', serve?.[1] as string), 'utf8').match(/import\("\.\/([^"]+)"\)/);
    expect([...staticPackages(join(ROOT, 'dist', index?.[1] as string))]).toContain('next');
  });
});

describe('stale bundle detection (a copy of the sources)', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pjt-i14cli-'));
    for (const p of ['server', 'bin', 'scripts', 'package.json'])
      cpSync(join(ROOT, p), join(dir, p), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const build = () => spawnSync(process.execPath, [join(dir, 'scripts', 'build-cli.mjs')], { encoding: 'utf8' });
  const version = () => run(join(dir, 'bin', 'packet-journey.mjs'), ['--version']).stdout;
  const builtAt = () =>
    (JSON.parse(readFileSync(join(dir, 'dist', 'build.json'), 'utf8')) as { startedAt: number }).startedAt;

  it('a changed source makes the command use tsx until the next build rebuilds the bundle', () => {
    expect(version()).toMatch(/\(tsx server\/cli\.ts; bundle not used: not built/);
    expect(build().status).toBe(0);
    expect(version()).toMatch(/\(bundle dist\/cli\.mjs/);
    const first = builtAt();
    // Nothing changed: the build does nothing.
    expect(build().status).toBe(0);
    expect(builtAt()).toBe(first);
    // A source saved after the build started, and before now: the next build, started later, covers it (a
    // second past the start was in the future of that build once the tsx path took under a second).
    const src = join(dir, 'server', 'lab', 'cli.ts');
    const later = new Date(Math.max(first, Date.now() - 1));
    utimesSync(src, later, later);
    expect(version()).toMatch(/\(tsx server\/cli\.ts; bundle not used: server\/lab\/cli\.ts changed since the build/);
    const r = run(join(dir, 'bin', 'packet-journey.mjs'), ['bogus'], { PJ_DEBUG: '1' });
    expect(r.stderr).toMatch(/^packet-journey: tsx server\/cli\.ts/);
    expect(r.code).toBe(2); // the tsx path behaves the same
    expect(build().status).toBe(0);
    expect(builtAt()).toBeGreaterThan(first);
    expect(version()).toMatch(/\(bundle dist\/cli\.mjs/);
  });

  it('a source that is gone is noticed too', () => {
    writeFileSync(join(dir, 'server', 'extra.ts'), 'export const x = 1;\n');
    const b = JSON.parse(readFileSync(join(dir, 'dist', 'build.json'), 'utf8')) as { inputs: string[] };
    writeFileSync(
      join(dir, 'dist', 'build.json'),
      JSON.stringify({ startedAt: Date.now() + 5000, inputs: [...b.inputs, 'server/extra.ts'] }),
    );
    expect(version()).toMatch(/\(bundle dist\/cli\.mjs/);
    rmSync(join(dir, 'server', 'extra.ts'));
    expect(version()).toMatch(/bundle not used: server\/extra\.ts is gone/);
  });

  it('on the tsx path the command is this process: a SIGTERM sent to it stops it, its loader too', async () => {
    expect(version()).toMatch(/bundle not used/);
    symlinkSync(join(ROOT, 'probes'), join(dir, 'probes')); // the built loader, run from the copy's path
    // Every process of the copy: the command, and its loader (probes/build/loader under `dir`).
    const ours = (): number[] =>
      spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    const cmd = spawn(
      process.execPath,
      [join(dir, 'bin', 'packet-journey.mjs'), 'trace', '--flows', '--local', '--json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((r) => cmd.once('exit', (code) => r(code)));
    try {
      let err = '';
      cmd.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // Running for real: its first tick printed.
      await new Promise<void>((resolve, reject) => {
        let out = '';
        cmd.stdout.on('data', (d: Buffer) => (out += d.toString()).includes('\n') && resolve());
        void exited.then((c) => reject(new Error(`exited ${c} before a tick: ${err}`)));
        setTimeout(() => reject(new Error(`no tick in 30 s: ${err}`)), 30_000);
      });
      expect(ours().length).toBeGreaterThanOrEqual(2);
      cmd.kill('SIGTERM');
      expect(await exited).toBe(0); // it stopped as on Ctrl-C
      for (let i = 0; i < 50 && ours().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(ours()).toEqual([]);
    } finally {
      for (const pid of ours()) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);
});

describe('the packet-journey link (scripts/link-cli.sh)', () => {
  let bin = '';
  const target = realpathSync(BIN);
  const link = (): { code: number | null; note: string } => {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'link-cli.sh')], {
      encoding: 'utf8',
      env: { ...process.env, PJ_BIN_DIR: bin },
    });
    return { code: r.status, note: r.stderr };
  };
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'pjt-i14cli-bin-'));
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
  const at = (): string => join(bin, 'packet-journey');

  it('creates the link, and the command runs through it', () => {
    expect(link().code).toBe(0);
    expect(readlinkSync(at())).toBe(target);
    const r = spawnSync(at(), ['--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: packet-journey <verb>/);
    // Again: nothing to do.
    expect(link().note).toMatch(/already links here/);
    expect(readlinkSync(at())).toBe(target);
  });

  it('the command leaves NODE_EXTRA_CA_CERTS out of its Node (which would parse that file first)', () => {
    expect(link().code).toBe(0);
    // A file that cannot be read makes Node say so on stderr before any script runs: it tells whether
    // Node looked at the variable at all.
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(bin, 'no-such-ca.pem') };
    const direct = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', env });
    expect(direct.stderr).toMatch(/Ignoring extra certs/);
    const viaCommand = spawnSync(at(), ['--help'], { encoding: 'utf8', env });
    expect(viaCommand.status).toBe(0);
    expect(viaCommand.stderr).toBe('');
  });

  it('replaces a link of ours whose checkout is gone, and leaves a live one to another checkout', () => {
    rmSync(at());
    symlinkSync('/nonexistent/pj-checkout/bin/packet-journey.mjs', at());
    expect(link().note).toMatch(/now links here \(it pointed to \/nonexistent\/pj-checkout/);
    expect(readlinkSync(at())).toBe(target);
    // A second checkout that exists: its link stays.
    const other = join(bin, 'other', 'bin');
    cpSync(join(ROOT, 'bin'), other, { recursive: true });
    rmSync(at());
    symlinkSync(join(other, 'packet-journey.mjs'), at());
    expect(link().note).toMatch(/points to .*other\/bin\/packet-journey\.mjs; left as is/);
    expect(readlinkSync(at())).toBe(join(other, 'packet-journey.mjs'));
  });

  it('never touches a file that is not our link', () => {
    rmSync(at());
    writeFileSync(at(), '#!/bin/sh\necho someone else\n');
    expect(link().note).toMatch(/exists and is not our link; left as is/);
    expect(lstatSync(at()).isSymbolicLink()).toBe(false);
    expect(readFileSync(at(), 'utf8')).toContain('someone else');
  });
});

it('after setup, `packet-journey` is on the PATH (the link setup made)', () => {
  // setup.sh ran before the suite (scripts/test.sh); PJ_BIN_DIR as there.
  const at = join(process.env.PJ_BIN_DIR ?? '/usr/local/bin', 'packet-journey');
  expect(lstatSync(at).isSymbolicLink()).toBe(true);
  const to = readlinkSync(at);
  expect(to).toMatch(/\/bin\/packet-journey\.mjs$/);
  expect(existsSync(to)).toBe(true);
});
