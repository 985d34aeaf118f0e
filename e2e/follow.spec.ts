import { execFileSync } from 'node:child_process';
import { expect, test, type Locator } from '@playwright/test';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

const CROSS_NODE = ['pod-a', 'node1', 'host', 'node2', 'pod-c'];

/** Lanes of hops in DOM (= kernel) order, consecutive repeats folded: the path through namespaces. */
async function lanePath(hops: Locator): Promise<string[]> {
  const lanes = await hops.evaluateAll((els) => els.map((e) => e.getAttribute('data-lane') ?? ''));
  return lanes.filter((l, i) => l !== lanes[i - 1]);
}

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await page.getByTestId(shellIds.tab('follow')).click();
  await expect(page.getByTestId(hopIds.panel)).toBeVisible();
});

test('click pod-a, follow a ping to pod-c: lanes and hops are drawn in path order, with the reply', async ({
  page,
}) => {
  await page.getByTestId(hopIds.fromNs('pod-a')).click();
  await expect(page.getByTestId(hopIds.fromNs('pod-a'))).toHaveAttribute('data-selected', 'true');
  await page.getByTestId(hopIds.toNs('pod-c')).click();
  await page.getByTestId(hopIds.proto('icmp')).click();
  await page.getByTestId(hopIds.followButton).click();

  const diagram = page.getByTestId(hopIds.diagram);
  await expect(diagram).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  await expect(page.getByTestId(hopIds.error)).toHaveCount(0);
  await expect(page.getByTestId(hopIds.summary)).toHaveAttribute('data-outcome', 'ok');

  // one lane per namespace, in path order
  const lanes = await diagram
    .locator('[data-testid^="hd-lane-"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-lane')));
  expect(lanes).toEqual(CROSS_NODE);
  for (const name of CROSS_NODE) await expect(page.getByTestId(hopIds.lane(name))).toContainText(name);

  // request hops: start on pod-a's eth0 going out, cross every lane in order, reach pod-c
  const req = diagram.locator('g[data-path="request"]');
  expect(await req.count()).toBeGreaterThanOrEqual(CROSS_NODE.length);
  expect(await lanePath(req)).toEqual(CROSS_NODE);
  const first = page.getByTestId(hopIds.hop('request', 'pod-a', 0));
  await expect(first).toBeVisible();
  await expect(first).toHaveAttribute('data-ifname', 'eth0');
  await expect(first).toHaveAttribute('data-dir', 'egress');
  await expect(first).toContainText('eth0');
  // a hop is an interface: node1 sees it on the pod's veth
  await expect(diagram.locator('g[data-path="request"][data-lane="node1"][data-ifname="veth-pod-a"]')).toHaveCount(1);
  // arrows join consecutive hops
  expect(await diagram.locator('[data-testid^="hd-arrow-req-"]').count()).toBe((await req.count()) - 1);
  // a ping to a pod is not a drop anywhere
  await expect(diagram.locator('g[data-tone="drop"]')).toHaveCount(0);

  // the reply comes back the other way, in its own colour band
  const rep = diagram.locator('g[data-path="reply"]');
  expect(await rep.count()).toBeGreaterThanOrEqual(CROSS_NODE.length);
  expect(await lanePath(rep)).toEqual([...CROSS_NODE].reverse());

  // clicking a hop shows the packet's fields
  const podC = diagram.locator('g[data-path="request"][data-lane="pod-c"][data-dir="ingress"]').first();
  await podC.click();
  const detail = page.getByTestId(hopIds.detail);
  await expect(detail).toBeVisible();
  await expect(detail).toContainText('10.244.1.2');
  await expect(detail).toContainText('10.244.2.2');
  await expect(detail).toContainText('echo request');
  await expect(detail).toContainText('TTL');
  await page.getByTestId(hopIds.detailClose).click();
  await expect(detail).toHaveCount(0);

  // the packet animation runs along the path and ends on the reply's last hop
  await page.getByTestId(hopIds.replay).click();
  const dot = page.getByTestId(hopIds.packetDot);
  await expect(dot).toHaveAttribute('data-playing', 'true');
  await expect(dot).toHaveAttribute('data-at', /^request:/);
  const lastReply = (await rep.count()) - 1;
  await expect(dot).toHaveAttribute('data-at', `reply:${lastReply}`, { timeout: 40_000 });
});

test('a target nobody knows is a one-line error, and nothing is drawn', async ({ page }) => {
  await page.getByTestId(hopIds.fromNs('pod-a')).click();
  await page.getByTestId(hopIds.toInput).fill('pjt-hd-nowhere');
  await page.getByTestId(hopIds.followButton).click();
  const err = page.getByTestId(hopIds.error);
  await expect(err).toContainText('pjt-hd-nowhere');
  expect((await err.innerText()).trim().split('\n')).toHaveLength(1);
  await expect(page.getByTestId(hopIds.diagram)).toHaveCount(0);
});

test('TCP to the echo service: the DNAT hop is highlighted with its rewrite', async ({ page }) => {
  await page.getByTestId(hopIds.fromNs('pod-a')).click();
  await page.getByTestId(hopIds.toService('echo')).click();
  await expect(page.getByTestId(hopIds.proto('tcp'))).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId(hopIds.port)).toHaveValue('80');
  await page.getByTestId(hopIds.followButton).click();
  const diagram = page.getByTestId(hopIds.diagram);
  await expect(diagram).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  const nat = diagram.locator('g[data-path="request"][data-tone="nat"]');
  await expect(nat).toHaveCount(1);
  await expect(nat).toHaveAttribute('data-lane', 'node1');
  await expect(nat).toContainText('DNAT 10.96.0.10:80');
  await expect(nat).toContainText(/→ 10\.244\.2\.[23]:8080/);
  await nat.click();
  await expect(page.getByTestId(hopIds.detail)).toContainText('DNAT');
});

test('live mode shows each matching packet as it arrives, and stops', async ({ page }) => {
  await page.getByTestId(hopIds.modeLive).click();
  await page.getByTestId(hopIds.liveProto).selectOption('icmp');
  await page.getByTestId(hopIds.liveAddr).fill('10.244.2.2');
  await page.getByTestId(hopIds.liveStart).click();
  await expect(page.getByTestId(hopIds.liveStop)).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId(hopIds.liveError)).toHaveCount(0);

  // Real traffic from inside pod-a, not through the follow API.
  execFileSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-c', '3', '-i', '0.2', '-W', '1', '10.244.2.2'], {
    stdio: 'ignore',
  });

  const counters = page.getByTestId(hopIds.liveCounters);
  await expect.poll(async () => Number(await counters.getAttribute('data-received'))).toBeGreaterThanOrEqual(6);
  const list = page.getByTestId(hopIds.liveList);
  const requests = list.locator('button', { hasText: 'echo request' });
  expect(await requests.count()).toBeGreaterThanOrEqual(3);
  await expect(requests.first()).toContainText('10.244.1.2 → 10.244.2.2');
  await requests.first().click();
  const lanes = await page
    .getByTestId(hopIds.diagram)
    .locator('[data-testid^="hd-lane-"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-lane')));
  expect(lanes).toEqual(CROSS_NODE);

  await page.getByTestId(hopIds.liveStop).click();
  await expect(page.getByTestId(hopIds.liveStart)).toBeVisible();
  const before = Number(await counters.getAttribute('data-received'));
  execFileSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.244.2.2'], {
    stdio: 'ignore',
  });
  await page.waitForTimeout(600);
  expect(Number(await counters.getAttribute('data-received'))).toBe(before);
});

test('a crashed probe loader shows a banner until it is back', async ({ page }) => {
  // Live mode starts the shared loader and shows its pid.
  await page.getByTestId(hopIds.modeLive).click();
  await page.getByTestId(hopIds.liveStart).click();
  await expect(page.getByTestId(hopIds.liveStop)).toBeVisible({ timeout: 20_000 });
  const info = page.getByTestId(hopIds.loaderInfo);
  await expect(info).toHaveAttribute('data-pid', /^\d+$/);
  const pid = Number(await info.getAttribute('data-pid'));
  const banner = page.getByTestId(hopIds.loaderBanner);
  await expect(banner).toHaveCount(0);

  // The loader of the server under test (Playwright started it), not some other process.
  process.kill(pid, 'SIGKILL');
  await expect(banner).toBeVisible({ timeout: 3_000 });
  await expect(banner).toHaveAttribute('data-state', /crashed|starting/);
  await expect(banner).toContainText(/crashed|restarting/i);
  // Restarted within the server's 2 s, and the banner goes away.
  await expect(banner).toHaveCount(0, { timeout: 10_000 });
  await expect(info).not.toHaveAttribute('data-pid', String(pid));
  await page.getByTestId(hopIds.liveStop).click();
});
