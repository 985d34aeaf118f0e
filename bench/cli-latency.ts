// Issue 14's CLI figures, this checkout against another (e.g. the lead's checkout before this change),
// side by side in one run: every round measures each command of both, in alternating order, so both
// see the same noise. Medians with a 95% interval (order statistics of the rounds); ratios are paired
// per round. Root; it brings the lab up (and down again if it was down) and starts a server for one phase.
//   flock /tmp/pj-lab.lock npx tsx bench/cli-latency.ts --other /work/main [--rounds 21]
// Phase 1, no server running: node -e 0; --help; lab status (through the `packet-journey` command: a
// link to bin/packet-journey.mjs, as setup makes in /usr/local/bin; and through npx); follow pod-a ->
// pod-c cold (the command starts its own loader); the loader's attach time (its ready record).
// Phase 2, `packet-journey serve` of each checkout running: follow through it, and this one's --local.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labStatus, labUp } from '../server/lab/index';
import { median } from './common';

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const ROUNDS = Number(argOf('rounds') ?? 21);
const OTHER = argOf('other') ?? '';
if (!OTHER || !Number.isInteger(ROUNDS) || ROUNDS < 3) {
  process.stderr.write('usage: npx tsx bench/cli-latency.ts --other CHECKOUT [--rounds 21]\n');
  process.exit(2);
}
const HERE = join(import.meta.dirname, '..');
const PORT = 3342;

/** The last command's stdout (a follow's journey, read for its own duration). */
let lastOut = '';

/** Wall time of one command, ms; a failing command fails the bench (a wrong figure is worse than none). */
function wall(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): number {
  const t = performance.now();
  const r = spawnSync(argv[0] as string, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0)
    throw new Error(`${argv.join(' ')} (in ${cwd}) exited ${r.status}: ${r.stderr.toString().trim()}`);
  lastOut = r.stdout.toString();
  return ms;
}

/** The probe loader's own attach time (ms, from its ready record), the loader started and stopped. */
function attachMs(checkout: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(join(checkout, 'probes', 'build', 'loader'), [], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const m = /"attach_ms":([0-9.]+)/.exec(out.slice(0, nl));
      p.stdin.end(); // EOF: it detaches and exits
      p.once('close', () => (m ? resolve(Number(m[1])) : reject(new Error(`no ready record: ${out.slice(0, 200)}`))));
      p.stdout.removeAllListeners('data');
      p.stdout.resume();
    });
    p.once('error', reject);
  });
}

/** Median and a 95% interval from order statistics (the binomial bound; n ≥ 6 for a two-sided one). */
function summary(xs: readonly number[]): { median: number; lo: number; hi: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  let k = 0; // largest k with P(Bin(n, 1/2) < k) <= 2.5%
  let cdf = 0;
  let coef = 1;
  for (let i = 0; i < n; i++) {
    cdf += coef / 2 ** n;
    if (cdf > 0.025) break;
    k = i + 1;
    coef = (coef * (n - i)) / (i + 1);
  }
  return { median: median(s), lo: s[Math.max(0, k - 1)] as number, hi: s[Math.min(n - 1, n - k)] as number };
}

// Both checkouts through a `packet-journey` command: a symlink to bin/packet-journey.mjs, as setup puts
// in /usr/local/bin (the shebang is part of what a user runs).
const bench = mkdtempSync(join(tmpdir(), 'pj-bench-bin-'));
const linkTo = (checkout: string, name: string): string => {
  mkdirSync(join(bench, name));
  const command = join(bench, name, 'packet-journey');
  symlinkSync(join(checkout, 'bin', 'packet-journey.mjs'), command);
  return command;
};
const command = linkTo(HERE, 'this');
const otherCommand = linkTo(OTHER, 'other');
const here = (args: readonly string[]): number => wall([command, ...args], HERE);
const other = (args: readonly string[]): number => wall([otherCommand, ...args], OTHER);
/** Node's own start without the CA file this machine's environment names (a user's usually names none). */
const NO_CA = { ...process.env, NODE_EXTRA_CA_CERTS: undefined };
const FOLLOW = ['follow', '--from', 'pod-a', '--to', 'pod-c', '--json'];

async function main(): Promise<void> {
  if (spawnSync('node', [join(HERE, 'scripts', 'build-cli.mjs')], { stdio: 'inherit' }).status !== 0)
    throw new Error('build-cli failed');
  const wasUp = (await labStatus()).up;
  await labUp();
  try {
    await measure();
  } finally {
    if (!wasUp) await labDown();
    rmSync(bench, { recursive: true, force: true });
  }
}

/** `packet-journey serve` of a checkout, once it listens. */
async function serve(checkout: string, port: number): Promise<ChildProcess> {
  const server = spawn('node', [join(checkout, 'bin', 'packet-journey.mjs'), 'serve', '--port', String(port)], {
    cwd: checkout,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('serving on')) resolve();
    });
    server.once('exit', (c) => reject(new Error(`server of ${checkout} exited ${c}`)));
  });
  return server;
}

async function measure(): Promise<void> {
  const rows = new Map<string, number[]>();
  const add = (k: string, v: number): void => void (rows.get(k) ?? rows.set(k, []).get(k))?.push(v);

  for (let r = 0; r < ROUNDS; r++) {
    // Each pair in alternating order: A B, then B A in the next round.
    const pair = (k: string, a: () => number, b: () => number): void => {
      const runs =
        r % 2 === 0
          ? ([
              ['this', a],
              ['other', b],
            ] as const)
          : ([
              ['other', b],
              ['this', a],
            ] as const);
      for (const [side, fn] of runs) add(`${k}|${side}`, fn());
    };
    add('node -e 0', wall(['node', '-e', '0'], HERE));
    if (process.env.NODE_EXTRA_CA_CERTS) add('node -e 0 no CA', wall(['node', '-e', '0'], HERE, NO_CA));
    pair(
      '--help',
      () => here(['--help']),
      () => other(['--help']),
    );
    pair(
      'lab status',
      () => here(['lab', 'status']),
      () => other(['lab', 'status']),
    );
    pair(
      'npx packet-journey lab status',
      () => wall(['npx', 'packet-journey', 'lab', 'status'], HERE),
      () => wall(['npx', 'packet-journey', 'lab', 'status'], OTHER),
    );
    pair(
      'follow cold',
      () => here(FOLLOW),
      () => other(FOLLOW),
    );
    for (const side of r % 2 === 0 ? (['this', 'other'] as const) : (['other', 'this'] as const))
      add(`attach|${side}`, await attachMs(side === 'this' ? HERE : OTHER));
  }

  // Phase 2: a server of each checkout (each command finds its own checkout's), their loaders warmed by
  // one follow (a server's loader stops 15 s after its last follower).
  const servers = [await serve(HERE, PORT), await serve(OTHER, PORT + 1)];
  try {
    here(FOLLOW);
    other(FOLLOW);
    for (let r = 0; r < ROUNDS; r++) {
      const through = (): number => {
        const ms = here(FOLLOW);
        // The server's own follow, from the request to the journey's build (its explanation not included).
        add('follow server journey', (JSON.parse(lastOut) as { durationMs: number }).durationMs);
        return ms;
      };
      const runs = [
        ['this', through],
        ['other', () => other(FOLLOW)],
        ['local', () => here([...FOLLOW, '--local'])],
      ] as const;
      // A different order each round (rotated), so each side sees every position.
      for (let k = 0; k < runs.length; k++) {
        const [side, fn] = runs[(r + k) % runs.length] as (typeof runs)[number];
        add(`follow server|${side}`, fn());
      }
    }
  } finally {
    for (const server of servers) {
      const gone = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await gone;
    }
  }
  const fmt = (xs: readonly number[], digits = 0, unit = ''): string => {
    const s = summary(xs);
    const f = (x: number): string => x.toFixed(digits) + unit;
    return `${f(s.median)} (${f(s.lo)}–${f(s.hi)})`;
  };
  const ratio = (a: readonly number[], b: readonly number[]): string =>
    fmt(
      a.map((x, i) => x / (b[i] as number)),
      2,
      '×',
    );
  const get = (k: string): number[] => rows.get(k) ?? [];
  const out: string[] = [
    `| measure (${ROUNDS} rounds, ms: median (95% interval)) | this checkout | ${OTHER} | this / other, paired |`,
    '|---|---|---|---|',
    `| \`node -e 0\` | ${fmt(get('node -e 0'))} | | |`,
    ...(get('node -e 0 no CA').length
      ? [`| \`node -e 0\`, NODE_EXTRA_CA_CERTS unset | ${fmt(get('node -e 0 no CA'))} | | |`]
      : []),
  ];
  for (const k of ['--help', 'lab status', 'npx packet-journey lab status', 'follow cold', 'attach']) {
    out.push(
      `| ${k} | ${fmt(get(`${k}|this`))} | ${fmt(get(`${k}|other`))} | ${ratio(get(`${k}|this`), get(`${k}|other`))} |`,
    );
  }
  out.push(
    `| follow, a server of each running (through it) | ${fmt(get('follow server|this'))} | ${fmt(get('follow server|other'))} | ${ratio(get('follow server|this'), get('follow server|other'))} |`,
    `| the same with \`--local\` (this checkout, same rounds) | ${fmt(get('follow server|local'))} | | |`,
    `| of which the server's follow (journey \`durationMs\`, before its explanation) | ${fmt(get('follow server journey'))} | | |`,
  );
  process.stdout.write(out.join('\n') + '\n');
  const med = (k: string): number => Math.round(median(get(k)));
  process.stdout.write(
    JSON.stringify({
      rounds: ROUNDS,
      helpMs: med('--help|this'),
      statusMs: med('lab status|this'),
      coldMs: med('follow cold|this'),
      serverMs: med('follow server|this'),
      localMs: med('follow server|local'),
      attachMs: med('attach|this'),
      other: {
        helpMs: med('--help|other'),
        statusMs: med('lab status|other'),
        coldMs: med('follow cold|other'),
        serverMs: med('follow server|other'),
      },
    }) + '\n',
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`cli latency bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
