import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { captureIds } from '../app/components/capture/test-ids';
import { classroomIds } from '../app/components/classroom/test-ids';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { projectorIds } from '../app/components/projector/test-ids';
import { replayIds } from '../app/components/replay/test-ids';
import { shellIds } from '../app/components/shell/test-ids';
import { followPodAtoPodC, startCaptureOnVethPodA } from './steps';

// Record and replay, end to end. The suite's server (root, lab up by the global setup) records a real
// session: the instructor follows pod-a → pod-c and steps through three hops. Then the lab goes down
// and a replay server of its own runs the file as `nobody`, on PJ_E2E_REPLAY_PORT (default: the suite's
// port + 2000, clear of the classroom's + 1000): the same journey and steps render, exactly, with no
// lab and no kernel access. The lab is brought back up at the end for the specs after this one.
const PORT = Number(process.env.PJ_E2E_REPLAY_PORT ?? Number(process.env.PJ_E2E_PORT ?? 3100) + 2000);
const REPLAY = `http://127.0.0.1:${PORT}`;
let replay: ChildProcess | undefined;
let work = '';
let recorded = '';
/** The capture the instructor saved and annotated, by file name. */
let captureFile = '';
const NOTE = 'echo request, as recorded';
/** What the instructor's page showed at each of the three steps. */
const steps: { index: string; key: string; narration: string }[] = [];

const shot = (page: Page, name: string) => page.screenshot({ path: test.info().outputPath(`${name}.png`) });
const cli = (...args: string[]) => execFileSync('npx', ['tsx', 'server/cli.ts', ...args], { stdio: 'inherit' });
const netns = (): string => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

test.describe.configure({ mode: 'serial' });

test.beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'pjt-replay-e2e-'));
  // nobody reads the recording from here (mkdtemp makes it 0700).
  chmodSync(work, 0o755);
});

test.afterAll(() => {
  if (replay?.pid) {
    try {
      process.kill(-replay.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
  if (recorded) rmSync(recorded, { force: true });
  const captures = resolve(process.env.PJ_CAPTURE_DIR ?? 'captures');
  for (const f of captureFile ? [captureFile, `.${captureFile}.notes.json`] : [])
    rmSync(join(captures, f), { force: true });
  // The specs after this one run on the lab, as the global setup left it.
  if (!netns().includes('pod-a')) cli('lab', 'up');
});

test('record: the instructor captures and notes a ping, follows pod-a → pod-c and steps through three hops', async ({
  page,
}) => {
  await page.goto('/');
  const record = page.getByTestId(replayIds.record);
  await expect(record).toHaveAttribute('data-recording', 'false');
  await record.click();
  await expect(record).toHaveAttribute('data-recording', 'true');
  await expect(page.getByTestId(replayIds.recordStatus)).toContainText('recording');

  // A capture of a ping on node1's veth-pod-a, with a note on its first packet.
  await startCaptureOnVethPodA(page);
  await new Promise<void>((resolve) =>
    execFile('ip', ['netns', 'exec', 'pod-a', 'ping', '-c', '2', '-i', '0.3', '10.244.2.2'], () => resolve()),
  );
  await expect(page.getByTestId(captureIds.list)).toContainText('ICMP echo reply');
  await page.getByTestId(captureIds.stop).click();
  await expect(page.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'stopped');
  captureFile =
    /\/captures\/(.+\.pcapng)$/.exec((await page.getByTestId(captureIds.export).getAttribute('href')) ?? '')?.[1] ?? '';
  expect(captureFile).not.toBe('');
  await page.getByTestId(captureIds.row(0)).click();
  await page.getByTestId(captureIds.note).fill(NOTE);
  await page.getByTestId(captureIds.noteSave).click();
  await expect(page.getByText('saved', { exact: true })).toBeVisible();
  await page.waitForTimeout(400);

  await followPodAtoPodC(page);

  const stepper = page.getByTestId(projectorIds.stepper);
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('ArrowRight');
    await expect(stepper).toHaveAttribute('data-index', String(i));
    steps.push({
      index: String(i),
      key: (await stepper.getAttribute('data-step')) ?? '',
      narration: await stepper.getByTestId(projectorIds.narration).innerText(),
    });
    // Longer than the page's send interval (100 ms): each step is its own view, none coalesced.
    await page.waitForTimeout(400);
  }
  expect(new Set(steps.map((s) => s.key)).size).toBe(3);
  await shot(page, 'record-instructor-step-3');

  await record.click();
  await expect(record).toHaveAttribute('data-recording', 'false');
  const saved = page.getByTestId(replayIds.saved);
  await expect(saved).toContainText(
    /^saved \S+\.pjrec \(\d+ KB\): \d+ step\(s\), [1-9]\d* journey\(s\), 1 capture\(s\)$/,
  );
  recorded = /^saved (\S+\.pjrec)/.exec(await saved.innerText())?.[1] ?? '';
  expect(existsSync(recorded)).toBe(true);
  test.info().annotations.push({ type: 'recording', description: `${statSync(recorded).size} bytes` });
  await shot(page, 'record-saved');
});

test('replay: the recorded journey and steps render the same, with no lab up, as a non-root user', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  expect(recorded).not.toBe('');
  const file = join(work, basename(recorded));
  copyFileSync(recorded, file);
  chmodSync(file, 0o644);

  // No lab: nothing of it is left to read.
  cli('lab', 'down');
  expect(netns()).not.toMatch(/pod-a|node1/);

  // As nobody, in a process group of its own; HOME where nobody may write (tsx keeps its cache in /tmp).
  const server = spawn(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'node_modules/.bin/tsx',
      'server/cli.ts',
      'serve',
      '--replay',
      file,
      '--port',
      String(PORT),
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: work,
        NODE_ENV: 'production',
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  replay = server;
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replay server did not start: ${out}`)), 60_000);
    const take = (b: Buffer): void => {
      out += b.toString();
      if (/replay of .*no kernel access/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    server.stdout.on('data', take);
    server.stderr.on('data', take);
    server.on('exit', (code) => reject(new Error(`replay server exited (${code}): ${out}`)));
  });
  // The server process and its node child run as uid 65534, not root.
  const uids = execFileSync('ps', ['-o', 'uid=', '--ppid', String(server.pid), '-p', String(server.pid)], {
    encoding: 'utf8',
  })
    .trim()
    .split(/\s+/);
  expect(uids.length).toBeGreaterThan(0);
  expect(new Set(uids)).toEqual(new Set(['65534']));

  const page = await browser.newPage();
  await page.goto(REPLAY);
  const strip = page.getByTestId(replayIds.strip);
  await expect(page.getByTestId(replayIds.banner)).toContainText(`replay of ${basename(file)}, recorded `);
  const position = page.getByTestId(replayIds.position);
  await expect(position).toHaveText(/^step 1\/\d+$/);
  const total = Number(/\/(\d+)$/.exec(await position.innerText())?.[1]);
  expect(total).toBeGreaterThanOrEqual(3);

  /** The page as it follows the recording: the tab, and the journey's step if one is shown. */
  const theirs = page.getByTestId(classroomIds.followedJourney);
  const look = async (): Promise<string> => {
    const tab = (await page.locator('[aria-pressed="true"][data-testid^="tab-"]').getAttribute('data-testid')) ?? '';
    if (!(await theirs.count())) return tab;
    const st = theirs.getByTestId(projectorIds.stepper);
    return `${tab} ${(await st.count()) ? await st.getAttribute('data-step') : 'no-step'}`;
  };
  const toFirst = async (): Promise<void> => {
    if ((await strip.getAttribute('data-step')) !== '0') await page.getByTestId(replayIds.first).click();
    await expect(strip).toHaveAttribute('data-step', '0');
  };
  /** Walks every recorded step from the first, waiting for the page to show each one. */
  const walk = async (): Promise<string[]> => {
    await toFirst();
    const seen: string[] = [];
    for (let i = 0; i < total; i++) {
      if (i > 0) await page.getByTestId(replayIds.next).click();
      await expect(position).toHaveText(`step ${i + 1}/${total}`);
      await page.waitForTimeout(250);
      seen.push(await look());
    }
    return seen;
  };
  const first = await walk();
  // The last three recorded steps are the instructor's three, in order, each as it was on screen.
  const stepper = theirs.getByTestId(projectorIds.stepper);
  const diagram = theirs.getByTestId(hopIds.diagram);
  await expect(theirs.getByRole('img', { name: /^journey pod-a to pod-c: / })).toBeVisible();
  await expect(diagram).toHaveAttribute('data-pending', 'false');
  for (let k = 2; k >= 0; k--) {
    const s = steps[k]!;
    await expect(position).toHaveText(`step ${total - 2 + k}/${total}`);
    await expect(stepper).toHaveAttribute('data-index', s.index);
    await expect(stepper).toHaveAttribute('data-step', s.key);
    await expect(stepper.getByTestId(projectorIds.narration)).toHaveText(s.narration);
    await expect(diagram).toHaveAttribute('data-current', s.key);
    await expect(diagram.locator('g[data-current="true"]')).toHaveCount(1);
    if (k === 2) await shot(page, 'replay-step-3');
    if (k > 0) await page.getByTestId(replayIds.prev).click();
  }
  expect(first.slice(-3)).toEqual(steps.map((s) => `${shellIds.tab('follow')} ${s.key}`));
  // Deterministic: the same file walked again shows the same sequence.
  expect(await walk()).toEqual(first);

  // Play runs the recorded steps on its own, in the recorded time, to the last.
  await toFirst();
  await page.getByTestId(replayIds.play).click();
  await expect(strip).toHaveAttribute('data-step', String(total - 1), { timeout: 30_000 });
  await expect(strip).toHaveAttribute('data-playing', 'false');
  await expect(stepper).toHaveAttribute('data-step', steps[2]!.key);

  // The recorded capture, opened from the file: its packets, and the note on the first one.
  await toFirst();
  const followedCapture = page.getByTestId(classroomIds.followedCapture);
  for (let i = 0; i < total && !(await followedCapture.getByTestId(captureIds.note).count()); i++) {
    await page.getByTestId(replayIds.next).click();
    await expect(position).toHaveText(`step ${i + 2}/${total}`);
    await page.waitForTimeout(300);
  }
  await expect(followedCapture).toContainText(`The instructor's capture: node1/veth-pod-a`);
  await expect(followedCapture).toContainText('ICMP echo reply');
  await expect(followedCapture.getByTestId(captureIds.note)).toHaveValue(NOTE);
  await shot(page, 'replay-capture-note');
  // Its download is the annotated pcapng, the note in a comment.
  const dl = await page.request.get(`${REPLAY}/captures/${captureFile}`);
  expect(dl.status()).toBe(200);
  expect((await dl.body()).includes(Buffer.from(`note: ${NOTE}`))).toBe(true);

  // Exploring alone: a follow needs the kernel, and says so in one line.
  await page.getByTestId(replayIds.detach).click();
  await expect(page.getByTestId(replayIds.follow)).toHaveAttribute('data-attached', 'false');
  await page.getByTestId(shellIds.tab('follow')).click();
  await expect(page.getByTestId(hopIds.followButton)).toBeVisible();
  await page.getByTestId(hopIds.fromNs('pod-a')).click();
  await page.getByTestId(hopIds.toNs('pod-c')).click();
  await page.getByTestId(hopIds.followButton).click();
  await expect(page.getByTestId(hopIds.error)).toHaveText(
    'replay mode: no traffic is sent or traced; step through the recorded journeys',
  );
  await shot(page, 'replay-explore-refused');
  await page.close();

  // It wrote nothing into the checkout, and its own folder goes with it.
  const mine = execFileSync('find', ['.', '-path', './node_modules', '-prune', '-o', '-user', 'nobody', '-print'], {
    encoding: 'utf8',
  });
  expect(mine).toBe('');
  const folders = (): string[] =>
    readdirSync(tmpdir()).filter((n) => n.startsWith('pj-replay-') && statSync(join(tmpdir(), n)).uid === 65534);
  expect(folders()).toHaveLength(1);
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  process.kill(-(server.pid ?? 0), 'SIGTERM');
  await exited;
  replay = undefined;
  expect(folders()).toEqual([]);
  expect(readFileSync(file).length).toBeGreaterThan(0);
});
