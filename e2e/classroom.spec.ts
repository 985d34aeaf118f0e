import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { captureIds } from '../app/components/capture/test-ids';
import { classroomIds } from '../app/components/classroom/test-ids';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { projectorIds } from '../app/components/projector/test-ids';
import { shellIds } from '../app/components/shell/test-ids';
import { followPodAtoPodC } from './steps';

// A classroom server of its own, next to the suite's (which stays local, with no tokens): the same
// build, in token mode, on PJ_E2E_CLASSROOM_PORT (default: the suite's port + 1000, clear of the
// ports next to it that other runs use). It binds to 127.0.0.1 and `--require-tokens` forces token
// mode there, as `--host 0.0.0.0` would; its tokens go to a folder of the test's, not /run.
const PORT = Number(process.env.PJ_E2E_CLASSROOM_PORT ?? Number(process.env.PJ_E2E_PORT ?? 3100) + 1000);
let server: ChildProcess | undefined;
let runDir = '';
let links = { instructor: '', student: '' };

test.beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'pjt-class-e2e-'));
  server = spawn('npx', ['tsx', 'server/cli.ts', 'serve', '--port', String(PORT), '--require-tokens'], {
    env: { ...process.env, PJ_RUN_DIR: runDir, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group: npx, tsx and node end together.
    detached: true,
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`classroom server did not start: ${out}`)), 60_000);
    server?.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const i = /instructor link \(full rights, keep it private\): (\S+)/.exec(out)?.[1];
      const s = /student link: (\S+)/.exec(out)?.[1];
      if (i && s && out.includes('tokens kept in:')) {
        clearTimeout(timer);
        links = { instructor: i, student: s };
        resolve();
      }
    });
    server?.on('exit', (code) => reject(new Error(`classroom server exited (${code}): ${out}`)));
  });
  // The terminal got the student link's QR code too (block characters).
  expect(out).toMatch(/[▀▄█]{10}/);
});

const started = Date.now();
test.afterAll(() => {
  if (server?.pid) process.kill(-server.pid, 'SIGTERM');
  rmSync(runDir, { recursive: true, force: true });
  // The student's capture, saved in the captures folder.
  const dir = resolve(process.env.PJ_CAPTURE_DIR ?? 'captures');
  for (const n of existsSync(dir) ? readdirSync(dir) : []) {
    const p = join(dir, n);
    if (/^\.?pod-a-eth0-\d{8}-\d{6}/.test(n) && statSync(p).mtimeMs >= started - 1000) rmSync(p, { force: true });
  }
});

async function open(browser: Browser, link: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
  await page.goto(link);
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: test.info().outputPath(`${name}.png`) });

async function joinAs(browser: Browser, name: string): Promise<Page> {
  const page = await open(browser, links.student);
  await page.getByTestId(classroomIds.joinName).fill(name);
  await page.getByTestId(classroomIds.joinSubmit).click();
  await expect(page.getByTestId(classroomIds.me)).toHaveText(`student: ${name}`);
  return page;
}

test('a student joins with a name, follows a ping, is refused a capture on a node veth; the instructor sees it all', async ({
  browser,
}) => {
  // Without a token, nothing: not the page, not a socket.
  const anon = await (await browser.newContext()).newPage();
  const refused = await anon.goto(`http://127.0.0.1:${PORT}/`);
  expect(refused?.status()).toBe(401);

  const teacher = await open(browser, links.instructor);
  // The link's token went into a cookie and out of the address bar.
  expect(teacher.url()).toBe(`http://127.0.0.1:${PORT}/`);
  await expect(teacher.getByTestId(classroomIds.me)).toHaveAttribute('data-role', 'instructor');
  await teacher.getByTestId(classroomIds.open).click();
  await expect(teacher.getByTestId(classroomIds.qr)).toBeVisible();
  await expect(teacher.getByTestId(classroomIds.studentLink)).toHaveText(links.student);

  const student = await open(browser, links.student);
  await expect(student.getByTestId(classroomIds.join)).toBeVisible();
  await shot(student, 'student-join');
  await student.getByTestId(classroomIds.joinName).fill('Ada');
  await student.getByTestId(classroomIds.joinSubmit).click();
  await expect(student.getByTestId(classroomIds.me)).toHaveText('student: Ada');
  await expect(student.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  // A student has no classroom panel.
  await expect(student.getByTestId(classroomIds.open)).toHaveCount(0);

  const ada = teacher.getByTestId(classroomIds.client('Ada'));
  await expect(ada).toBeVisible();
  await expect(ada).toHaveAttribute('data-role', 'student');

  // The student follows a ping pod-a → pod-c.
  await followPodAtoPodC(student);
  await expect(student.getByTestId(hopIds.error)).toHaveCount(0);
  await shot(student, 'student-follow');
  await expect(ada).toContainText('last: pod-a → pod-c (icmp): delivered');

  // A capture on node1's veth-pod-a is not the student's to start: one clear line, nothing started.
  await student.getByTestId(shellIds.tab('capture')).click();
  await student.getByTestId(captureIds.netns).selectOption('node1');
  await student.getByTestId(captureIds.iface).selectOption('veth-pod-a');
  await student.getByTestId(captureIds.filter).fill('icmp');
  await expect(student.getByTestId(captureIds.bytecode)).toContainText('ldh');
  await student.getByTestId(captureIds.start).click();
  await expect(student.getByTestId(captureIds.error)).toContainText("students can capture only on a lab pod's eth0");
  await expect(student.getByTestId(captureIds.status)).toHaveCount(0);
  await shot(student, 'student-capture-refused');
  await expect(ada).not.toContainText('capturing');

  // On a pod's own eth0 it may, one capture at a time; the instructor sees it running.
  await student.getByTestId(captureIds.netns).selectOption('pod-a');
  await student.getByTestId(captureIds.iface).selectOption('eth0');
  await expect(student.getByTestId(captureIds.bytecode)).toContainText('ldh');
  await student.getByTestId(captureIds.start).click();
  await expect(student.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'running');
  await expect(ada).toContainText('capturing pod-a/eth0 "icmp"');
  await shot(teacher, 'instructor-classroom');
  await student.getByTestId(captureIds.stop).click();
  await expect(student.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'stopped');
  // Its own file downloads; another one is not the student's.
  const href = await student.getByTestId(captureIds.export).getAttribute('href');
  const base = `http://127.0.0.1:${PORT}`;
  expect((await student.request.get(`${base}${href ?? '/none'}`)).status()).toBe(200);
  expect((await student.request.get(`${base}/captures/node1-not-yours.pcapng`)).status()).toBe(403);

  // The instructor disconnects Ada; her page says so.
  await teacher.getByTestId(classroomIds.kick('Ada')).click();
  await expect(student.getByTestId(classroomIds.notice)).toHaveText('the instructor disconnected you');
  await expect(ada).toHaveCount(0);
});

test('follow the instructor: the student sees the same journey and step, detaches, re-attaches; a late joiner sees it at once', async ({
  browser,
}) => {
  const teacher = await open(browser, links.instructor);
  await expect(teacher.getByTestId(classroomIds.me)).toHaveAttribute('data-role', 'instructor');
  const bo = await joinAs(browser, 'Bo');
  // Following is the default when joining.
  await expect(bo.getByTestId(classroomIds.follow)).toHaveAttribute('data-attached', 'true');
  await expect(bo.getByTestId(classroomIds.detach)).toHaveText('Explore on my own');

  // The instructor follows pod-a → pod-c: the student's page switches to the Follow tab and draws it.
  await teacher.getByTestId(shellIds.tab('follow')).click();
  await expect(bo.getByTestId(shellIds.tab('follow'))).toHaveAttribute('aria-pressed', 'true');
  await teacher.getByTestId(hopIds.fromNs('pod-a')).click();
  await teacher.getByTestId(hopIds.toNs('pod-c')).click();
  await teacher.getByTestId(hopIds.proto('icmp')).click();
  await teacher.getByTestId(hopIds.followButton).click();
  await expect(teacher.getByTestId(hopIds.diagram)).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  const theirs = bo.getByTestId(classroomIds.followedJourney);
  await expect(theirs.getByTestId(hopIds.diagram)).toHaveAttribute('data-pending', 'false');
  await expect(theirs.getByTestId(hopIds.summary)).toContainText('pod-a → pod-c');
  await expect(theirs.getByTestId(hopIds.summary)).toHaveAttribute('data-outcome', 'ok');

  const tStep = teacher.getByTestId(projectorIds.stepper);
  /** The student's step is the instructor's: same key, same narration, the same hop lit. */
  const same = async (page: Page, index: number) => {
    await expect(tStep).toHaveAttribute('data-index', String(index));
    const key = (await tStep.getAttribute('data-step')) ?? '';
    const stepper = page.getByTestId(classroomIds.followedJourney).getByTestId(projectorIds.stepper);
    await expect(stepper).toHaveAttribute('data-step', key);
    await expect(stepper.getByTestId(projectorIds.narration)).toHaveText(
      await tStep.getByTestId(projectorIds.narration).innerText(),
    );
    const diagram = page.getByTestId(classroomIds.followedJourney).getByTestId(hopIds.diagram);
    await expect(diagram).toHaveAttribute('data-current', key);
    await expect(diagram.locator('g[data-current="true"]')).toHaveCount(1);
    return key;
  };

  await teacher.keyboard.press('ArrowRight');
  const k0 = await same(bo, 0);
  await teacher.keyboard.press('ArrowRight');
  const k1 = await same(bo, 1);
  expect(k1).not.toBe(k0);
  await teacher.keyboard.press('ArrowRight');
  await same(bo, 2);
  // The student's step-through has no controls of its own while it follows.
  await expect(theirs.getByTestId(projectorIds.next)).toHaveCount(0);
  await shot(teacher, 'follow-instructor-step-2');
  await shot(bo, 'follow-student-step-2');

  // Detached: the student's own Follow panel, and the instructor's steps no longer move anything.
  await bo.getByTestId(classroomIds.detach).click();
  await expect(bo.getByTestId(classroomIds.follow)).toHaveAttribute('data-attached', 'false');
  await expect(theirs).toHaveCount(0);
  await expect(bo.getByTestId(hopIds.followButton)).toBeVisible();
  await teacher.keyboard.press('ArrowRight');
  await teacher.keyboard.press('ArrowRight');
  await expect(tStep).toHaveAttribute('data-index', '4');
  await bo.waitForTimeout(500);
  await expect(theirs).toHaveCount(0);
  await expect(bo.getByTestId(projectorIds.stepper)).toHaveCount(0);
  await shot(bo, 'follow-student-detached');

  // Re-attached with one click: straight to the instructor's current step.
  await bo.getByTestId(classroomIds.attach).click();
  await expect(bo.getByTestId(classroomIds.follow)).toHaveAttribute('data-attached', 'true');
  await same(bo, 4);

  // A late joiner sees the current step at once, with no step from the instructor in between.
  const cy = await joinAs(browser, 'Cy');
  await expect(cy.getByTestId(shellIds.tab('follow'))).toHaveAttribute('aria-pressed', 'true');
  await same(cy, 4);
  await shot(cy, 'follow-late-joiner');
  // And moves with the others.
  await teacher.keyboard.press('ArrowLeft');
  await same(cy, 3);
  await same(bo, 3);

  // The instructor's roster says who follows.
  await teacher.getByTestId(classroomIds.open).click();
  await expect(teacher.getByTestId(classroomIds.client('Cy'))).toContainText('following the instructor');
  await teacher.getByTestId(classroomIds.panel).getByLabel('close').click();

  // A capture the instructor has not shared: one line instead, on the Capture tab.
  await teacher.getByTestId(shellIds.tab('capture')).click();
  await teacher.getByTestId(captureIds.netns).selectOption('pod-a');
  await teacher.getByTestId(captureIds.iface).selectOption('eth0');
  await teacher.getByTestId(captureIds.filter).fill('icmp');
  await expect(teacher.getByTestId(captureIds.bytecode)).toContainText('ldh');
  await teacher.getByTestId(captureIds.start).click();
  await expect(teacher.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'running');
  await expect(cy.getByTestId(shellIds.tab('capture'))).toHaveAttribute('aria-pressed', 'true');
  await expect(cy.getByTestId(classroomIds.notShared)).toHaveText("the instructor's capture is not shared");
  await shot(cy, 'follow-capture-not-shared');
  execFileSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-c', '2', '-i', '0.2', '-q', '10.244.2.2']);
  await expect(teacher.getByTestId(captureIds.row(0))).toBeVisible();
  await teacher.getByTestId(captureIds.stop).click();
  await expect(teacher.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'stopped');

  // Shared, the same capture opens on the student's page, and the packet the instructor opens with it.
  const file = decodeURIComponent(
    ((await teacher.getByTestId(captureIds.export).getAttribute('href')) ?? '').replace('/captures/', ''),
  );
  await teacher.getByTestId(classroomIds.open).click();
  // Checked once the roster says so (a controlled checkbox): click, then wait for it.
  await teacher.getByTestId(classroomIds.share(file)).click();
  await expect(teacher.getByTestId(classroomIds.share(file))).toBeChecked();
  await teacher.getByTestId(classroomIds.panel).getByLabel('close').click();
  const cap = cy.getByTestId(classroomIds.followedCapture);
  await expect(cap.getByTestId(classroomIds.notShared)).toHaveCount(0);
  await expect(cap).toContainText('ICMP echo request');
  await teacher.getByTestId(captureIds.row(0)).click();
  await expect(teacher.getByTestId(captureIds.detail)).toBeVisible();
  await expect(cap.getByTestId(captureIds.detail)).toBeVisible();
  await shot(cy, 'follow-capture-shared-packet');
});
