import { execFileSync, spawnSync } from 'node:child_process';
import { expect, test, type WebSocketRoute } from '@playwright/test';
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
