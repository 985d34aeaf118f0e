import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { expect, test, type WebSocketRoute } from '@playwright/test';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { labIds } from '../app/components/lab/test-ids';
import { macMapIds } from '../app/components/mac-map/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

// The client stream layer (app/lib/subscribe.ts) re-subscribes on every connect: a new connection starts
// with no watches on the server, so without it a dropped socket would leave the page frozen.
test('after the connection drops, the map watches again on reconnect and keeps updating', async ({ page }) => {
  const ns = 'pjt-reconnect-e2e';
  spawnSync('ip', ['netns', 'del', ns]);
  // Every socket.io connection goes through this proxy, so the test can cut it.
  const routes: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    ws.connectToServer();
    routes.push(ws);
  });
  try {
    await page.goto('/');
    await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
    await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'up');
    await page.getByTestId(shellIds.tab('map')).click();
    await expect(page.getByTestId(macMapIds.namespace('pod-a'))).toBeVisible();

    const before = routes.length;
    for (const r of routes) await r.close();
    await expect.poll(() => routes.length, { timeout: 10_000 }).toBeGreaterThan(before);
    await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');

    // Only a watch made on the new connection can bring this to the page.
    execFileSync('ip', ['netns', 'add', ns]);
    await expect(page.getByTestId(macMapIds.namespace(ns))).toBeVisible({ timeout: 5000 });
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});

// Issue 13: a live view in the browser through a ~3 s cut of its websocket while marker pings run. The
// page shows "reconnecting…", then "resumed", and every marker's journey is on the page exactly once:
// the server held the page's session (and its live trace) and the page resumed from the last journey.
test('a live view resumes through a 3 s cut: banner reconnecting… then resumed, every marker on the page', async ({
  page,
}, testInfo) => {
  /** Kept as test artifacts: test-results/…/<name>.png, and attached to the report. */
  const shot = async (name: string): Promise<void> => {
    const path = testInfo.outputPath(`${name}.png`);
    await page.screenshot({ path });
    await testInfo.attach(name, { path, contentType: 'image/png' });
  };
  let blocked = false;
  const routes: WebSocketRoute[] = [];
  // While cut, a reconnect attempt gets no answer at all, as on a dead network (a close would be an
  // answer); it reaches the server once the cut ends.
  const held: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (blocked) return void held.push(ws);
    ws.connectToServer();
    routes.push(ws);
  });
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await page.getByTestId(shellIds.tab('follow')).click();
  await page.getByTestId(hopIds.modeLive).click();
  await page.getByTestId(hopIds.liveProto).selectOption('icmp');
  await page.getByTestId(hopIds.liveAddr).fill('10.244.2.2');
  await page.getByTestId(hopIds.liveStart).click();
  await expect(page.getByTestId(hopIds.liveStop)).toBeVisible({ timeout: 20_000 });

  // 20 markers over ~5 s; the cut starts a second in and lasts 3 s.
  const markers = 20;
  const ping = spawn(
    'ip',
    ['netns', 'exec', 'pod-a', 'ping', '-n', '-q', '-c', String(markers), '-i', '0.25', '10.244.2.2'],
    {
      stdio: 'ignore',
    },
  );
  const pinged = new Promise<number | null>((r) => ping.on('exit', r));
  try {
    await page.waitForTimeout(1000);
    blocked = true;
    for (const r of routes.splice(0)) await r.close();
    const banner = page.getByTestId(shellIds.resume);
    await expect(banner).toHaveAttribute('data-phase', 'reconnecting');
    await expect(banner).toContainText('reconnecting…');
    await shot('reconnecting');
    await page.waitForTimeout(3000);
    blocked = false;
    for (const ws of held.splice(0)) {
      ws.connectToServer();
      routes.push(ws);
    }
    await expect(banner).toHaveAttribute('data-phase', 'resumed', { timeout: 15_000 });
    await expect(banner).toContainText('resumed');
    expect(await pinged).toBe(0);
    const requests = page.getByTestId(hopIds.liveList).locator('button', { hasText: 'echo request' });
    await expect(requests).toHaveCount(markers, { timeout: 10_000 });
    // Nothing was lost or started again: no note under "resumed" (the resume's answer is in by now).
    await expect(page.getByTestId(shellIds.resumeNote)).toHaveCount(0);
    await shot('resumed');
    // Exactly once: a second later, still one item per marker.
    await page.waitForTimeout(1000);
    await expect(requests).toHaveCount(markers);
  } finally {
    ping.kill();
    blocked = false;
  }
  await page.getByTestId(hopIds.liveStop).click();
  await expect(page.getByTestId(hopIds.liveStart)).toBeVisible();
});
