// Issue 13, projector and exports, against the real server and lab at a projector's 1280×720: follow
// pod-a → pod-c and step through it from the keyboard (the narration is the server's hop reason, the hop
// is lit in the diagram and its interface on the MAC map); projector mode; the exports (SVG parsed back,
// PNG, the journey JSON, and a capture's pcapng read by tshark with the hop reasons in its comments).
// Screenshots are kept in test-results/.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test, type Download, type Page } from '@playwright/test';
import { Journey } from '../server/protocol/tracer';
import { captureIds } from '../app/components/capture/test-ids';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { macMapIds } from '../app/components/mac-map/test-ids';
import { contrast, parseColor } from '../app/components/projector/colors';
import { projectorIds } from '../app/components/projector/test-ids';
import { shellIds } from '../app/components/shell/test-ids';
import { followPodAtoPodC, startCaptureOnVethPodA } from './steps';

test.use({ viewport: { width: 1280, height: 720 } });

const started = Date.now();
test.afterAll(() => {
  // The capture this file saved (capture.spec.ts names the same way); only ones newer than the run.
  const dir = resolve(process.env.PJ_CAPTURE_DIR ?? 'captures');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!/^\.?node1-veth-pod-a-\d{8}-\d{6}/.test(n)) continue;
    const p = join(dir, n);
    if (statSync(p).mtimeMs >= started - 1000) rmSync(p, { force: true });
  }
});

const shot = (page: Page, name: string) => page.screenshot({ path: test.info().outputPath(`${name}.png`) });

/** Opens the export drop-down (it closes after each file). */
async function openExports(page: Page): Promise<void> {
  const menu = page.getByTestId(projectorIds.exportMenu);
  if ((await menu.getAttribute('open')) === null) await menu.locator('summary').click();
  await expect(page.getByTestId(projectorIds.exportSvg)).toBeVisible();
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ d: Download; bytes: Buffer }> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), click()]);
  // path() waits for the file with no timeout of its own: a stalled download fails here, by name.
  let timer: NodeJS.Timeout | undefined;
  const path = await Promise.race([
    d.path(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`download ${d.suggestedFilename()} did not finish in 15 s`)), 15_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { d, bytes: readFileSync(path) };
}

/** The journey on screen, from its JSON export (the `follow --json` shape). */
async function exportedJourney(page: Page): Promise<Journey> {
  await openExports(page);
  const { d, bytes } = await downloaded(page, () => page.getByTestId(projectorIds.exportJson).click());
  expect(d.suggestedFilename()).toMatch(/^journey-pod-a-pod-c-.+\.json$/);
  await expect(page.getByTestId(projectorIds.exportMenu)).not.toHaveAttribute('open');
  return Journey.parse(JSON.parse(bytes.toString('utf8')));
}

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  // Start every test out of projector mode, whatever an earlier one left in localStorage.
  await page.evaluate(() => localStorage.removeItem('packet-journey:projector'));
  await page.reload();
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
});

test('step through pod-a → pod-c with the keyboard: narration, lit hop, fields, MAC map interface', async ({
  page,
}) => {
  await followPodAtoPodC(page);
  const j = await exportedJourney(page);
  expect(j.delivered).toBe(true);
  const hops = [
    ...j.hops.map((h) => ['request', h] as const),
    ...(j.reply?.hops ?? []).map((h) => ['reply', h] as const),
  ];
  expect(hops.every(([, h]) => h.reason)).toBe(true);
  const diagram = page.getByTestId(hopIds.diagram);
  await expect(diagram).toHaveAttribute('data-journey', j.id);

  const stepper = page.getByTestId(projectorIds.stepper);
  const narration = page.getByTestId(projectorIds.narration);
  const mini = page.getByTestId(projectorIds.miniMap);
  await expect(stepper).toHaveAttribute('data-index', '-1');

  /** The step at `i` is on screen: its reason, its box lit (and only it), its interface lit on the map. */
  const expectStep = async (i: number) => {
    const entry = hops[i];
    if (!entry) throw new Error(`no hop ${i}`);
    const [path, h] = entry;
    await expect(stepper).toHaveAttribute('data-index', String(i));
    await expect(stepper).toHaveAttribute('data-step', `${path}:${h.seq}`);
    await expect(narration).toHaveText(h.reason ?? '');
    const box = page.getByTestId(hopIds.hop(path, h.netns, h.seq));
    await expect(box).toHaveAttribute('data-current', 'true');
    await expect(diagram.locator('g[data-current="true"]')).toHaveCount(1);
    await expect(diagram).toHaveAttribute('data-current', `${path}:${h.seq}`);
    await expect(mini.getByTestId(macMapIds.iface(h.netns, h.ifname))).toHaveAttribute('data-highlight', 'true');
    await expect(mini.locator('[data-highlight="true"]')).toHaveCount(1);
    const fields = page.getByTestId(projectorIds.fields);
    await expect(fields.getByTestId(projectorIds.field('flow'))).toContainText(`${h.src} → ${h.dst}`);
    await expect(fields.getByTestId(projectorIds.field('ttl'))).toContainText(String(h.ttl));
  };

  await page.keyboard.press('ArrowRight');
  await expectStep(0);
  const first = await narration.innerText();
  await page.keyboard.press('ArrowRight');
  await expectStep(1);
  // the narration changed with the step: pod-a's route, then node1's veth receiving it
  expect(await narration.innerText()).not.toBe(first);
  expect(hops[1]?.[1]).toMatchObject({ netns: 'node1', ifname: 'veth-pod-a' });
  await shot(page, 'step-node1-veth-pod-a');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expectStep(3);
  await page.keyboard.press('ArrowLeft');
  await expectStep(2);

  // The reply is stepped too, to its last hop.
  const firstReply = j.hops.length;
  for (let i = 2; i < firstReply; i++) await page.keyboard.press('ArrowRight');
  await expectStep(firstReply);
  await page.keyboard.press('End');
  await expectStep(hops.length - 1);

  // The MAC map tab lights the same interface.
  const last = hops.at(-1)?.[1];
  if (!last) throw new Error('no hops');
  await page.getByTestId(shellIds.tab('map')).click();
  const map = page.getByTestId(macMapIds.root);
  await expect(map.getByTestId(macMapIds.iface(last.netns, last.ifname))).toHaveAttribute('data-highlight', 'true');
  await page.getByTestId(shellIds.tab('follow')).click();

  // Space plays from the top at one hop per ~1.5 s, and pauses.
  await page.keyboard.press(' ');
  await expect(stepper).toHaveAttribute('data-playing', 'true');
  await expectStep(0);
  await expectStep(1);
  const t0 = Date.now();
  await expectStep(2);
  expect(Date.now() - t0).toBeGreaterThan(900);
  await page.keyboard.press(' ');
  await expect(stepper).toHaveAttribute('data-playing', 'false');
  const paused = await stepper.getAttribute('data-index');
  await page.waitForTimeout(2000);
  await expect(stepper).toHaveAttribute('data-index', paused ?? '');

  // ? lists the shortcuts; Esc closes the list, then leaves the step-through.
  await page.keyboard.press('?');
  const list = page.getByTestId(projectorIds.shortcuts);
  await expect(list).toBeVisible();
  await expect(list).toContainText('play / pause');
  await expect(list).toContainText('projector mode');
  await shot(page, 'shortcuts');
  await page.keyboard.press('Escape');
  await expect(list).toHaveCount(0);
  await expect(stepper).toHaveAttribute('data-index', paused ?? '');
  await page.keyboard.press('Escape');
  await expect(stepper).toHaveAttribute('data-index', '-1');
  await expect(diagram.locator('g[data-current]')).toHaveCount(0);

  // Keys typed into a field are text, not shortcuts.
  const to = page.getByTestId(hopIds.toInput);
  await to.click();
  await to.pressSequentially('pf?');
  await to.press('ArrowRight');
  await expect(to).toHaveValue(/pf\?$/);
  await expect(stepper).toHaveAttribute('data-index', '-1');
  await expect(list).toHaveCount(0);
  expect(await page.evaluate(() => document.documentElement.classList.contains('projector'))).toBe(false);
});

test('projector mode: p toggles large type and high contrast, kept over a reload, readable at 1280×720', async ({
  page,
}) => {
  await followPodAtoPodC(page);
  const html = page.locator('html');
  await page.keyboard.press('p');
  await expect(html).toHaveClass(/\bprojector\b/);
  expect(await page.evaluate(() => localStorage.getItem('packet-journey:projector'))).toBe('1');
  await page.reload();
  await expect(html).toHaveClass(/\bprojector\b/);
  await followPodAtoPodC(page);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  const narration = page.getByTestId(projectorIds.narration);
  await expect(narration).toHaveText('received from pod-a eth0');
  await page.waitForTimeout(600); // the camera's pan and the scroll settle before the screenshot
  await shot(page, 'projector-1280x720');

  const look = await narration.evaluate((el) => {
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return {
      fontSize: parseFloat(cs.fontSize),
      color: cs.color,
      bg: getComputedStyle(document.body).backgroundColor,
      right: r.right,
      top: r.top,
      bottom: r.bottom,
    };
  });
  // ~1/16 of the screen height: read from the back of a room; and on screen, not scrolled away.
  expect(look.fontSize).toBeGreaterThanOrEqual(36);
  expect(look.right).toBeLessThanOrEqual(1280);
  expect(look.top).toBeGreaterThanOrEqual(0);
  expect(look.bottom).toBeLessThanOrEqual(720);
  const fg = parseColor(look.color);
  const bg = parseColor(look.bg);
  if (!fg || !bg) throw new Error(`unreadable colours ${look.color} on ${look.bg}`);
  expect(contrast(fg, bg)).toBeGreaterThanOrEqual(15);
  // the diagram's current hop is on screen at 1280×720
  const current = page.getByTestId(hopIds.diagram).locator('g[data-current="true"]');
  await expect(current).toBeInViewport();
  await expect(page.getByTestId(projectorIds.miniMap).locator('[data-highlight="true"]')).toBeInViewport();

  await page.keyboard.press('p');
  await expect(html).not.toHaveClass(/\bprojector\b/);
  expect(await page.evaluate(() => localStorage.getItem('packet-journey:projector'))).toBe('0');
  expect(parseFloat(await narration.evaluate((el) => getComputedStyle(el).fontSize))).toBeLessThan(look.fontSize);
});

test('exports: the diagram as SVG (projector, print) and PNG, the journey as JSON, the capture as pcapng with hop reasons', async ({
  page,
}) => {
  // A capture on node1's veth-pod-a while the follow runs: its frames get the hops as comments.
  await startCaptureOnVethPodA(page);

  await followPodAtoPodC(page);
  const j = await exportedJourney(page);
  expect(j.delivered).toBe(true);
  expect(j.id).toBe(await page.getByTestId(hopIds.diagram).getAttribute('data-journey'));
  const nHops = j.hops.length + (j.reply?.hops.length ?? 0);
  // Step to node1's veth-pod-a so the export shows a lit hop too.
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');

  const svgOf = async (style: 'projector' | 'print') => {
    await openExports(page);
    await page.getByTestId(projectorIds.exportStyle).selectOption(style);
    const { d, bytes } = await downloaded(page, () => page.getByTestId(projectorIds.exportSvg).click());
    expect(d.suggestedFilename()).toMatch(new RegExp(`^journey-pod-a-pod-c-.+-${style}\\.svg$`));
    const text = bytes.toString('utf8');
    // Parsed as a standalone XML document, with no page stylesheet around it.
    return page.evaluate((t) => {
      const doc = new DOMParser().parseFromString(t, 'image/svg+xml');
      const root = doc.documentElement;
      const reasons = [...doc.querySelectorAll('[data-testid="hd-hop-reason"]')].map((e) => e.textContent ?? '');
      const bg = root.querySelector(':scope > rect');
      return {
        error: doc.querySelector('parsererror')?.textContent ?? null,
        tag: root.localName,
        ns: root.namespaceURI,
        width: Number(root.getAttribute('width')),
        hops: doc.querySelectorAll('g[data-path][data-lane]').length,
        current: doc.querySelector('g[data-current="true"]')?.getAttribute('data-ifname') ?? null,
        reasons,
        classes: doc.querySelectorAll('[class]').length,
        inlineFill: doc.querySelector('g[data-path] rect')?.getAttribute('style') ?? '',
        bg: bg?.getAttribute('fill') ?? null,
        lanes: [...doc.querySelectorAll('[data-testid^="hd-lane-"]')].map((e) => e.getAttribute('data-lane')),
      };
    }, text);
  };
  const projector = await svgOf('projector');
  expect(projector.error).toBeNull();
  expect(projector.tag).toBe('svg');
  expect(projector.ns).toBe('http://www.w3.org/2000/svg');
  expect(projector.hops).toBe(nHops);
  expect(projector.lanes).toEqual(j.lanes);
  expect(projector.current).toBe('veth-pod-a');
  expect(projector.reasons.length).toBeGreaterThan(0);
  expect(projector.reasons).toContain('received from pod-a eth0');
  expect(projector.classes).toBe(0); // every style inlined
  expect(projector.inlineFill).toMatch(/fill:#[0-9a-f]{6}/);
  expect(projector.bg).toBe('#000000');
  const print = await svgOf('print');
  expect(print.error).toBeNull();
  expect(print.hops).toBe(nHops);
  expect(print.bg).toBe('#ffffff');

  await openExports(page);
  const { d: png, bytes: pngBytes } = await downloaded(page, () => page.getByTestId(projectorIds.exportPng).click());
  expect(png.suggestedFilename()).toMatch(/\.png$/);
  await png.saveAs(test.info().outputPath('export-print.png'));
  expect(pngBytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  // IHDR: twice the drawing's width, for a sharp projector image
  expect(pngBytes.readUInt32BE(16)).toBe(2 * print.width);
  await expect(page.getByTestId(projectorIds.exportError)).toHaveCount(0);

  // The capture's pcapng: tshark reads it, and the followed frames carry the hop reasons.
  await page.getByTestId(shellIds.tab('capture')).click();
  await expect(page.getByTestId(captureIds.list)).toContainText('10.244.2.2 > 10.244.1.2: ICMP echo reply');
  await page.getByTestId(captureIds.stop).click();
  await expect(page.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'stopped');
  const { d: pcap } = await downloaded(page, () => page.getByTestId(captureIds.export).click());
  expect(pcap.suggestedFilename()).toMatch(/\.pcapng$/);
  const file = test.info().outputPath('capture.pcapng');
  await pcap.saveAs(file);
  const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.comment'], { encoding: 'utf8' });
  expect(t.status, t.stderr).toBe(0);
  const arrival = j.hops.find((h) => h.netns === 'node1' && h.ifname === 'veth-pod-a');
  const back = j.reply?.hops.find((h) => h.netns === 'node1' && h.ifname === 'veth-pod-a');
  expect(t.stdout).toContain(`why: ${arrival?.reason ?? '?'}`);
  expect(t.stdout).toContain(`why: ${back?.reason ?? '?'}`);
  expect(t.stdout).toContain(`journey ${j.id} pod-a → pod-c`);
});
