import { spawn } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { flowIds } from '../app/components/flows/test-ids';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

// The Flows tab against the real kernel: pings from pod-a to pod-c show up as two flows with their path,
// the table sorts, the map draws the namespaces, and a click draws the flow's sampled journey.
test('flow table, flow map and a click through to a sampled journey', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await page.getByTestId(shellIds.tab('flows')).click();
  await expect(page.getByTestId(flowIds.panel)).toBeVisible();
  await expect(page.getByTestId(flowIds.pressure)).toBeVisible({ timeout: 30_000 });

  // Pings while the view runs (it starts when the panel watches it).
  const ping = spawn('ip', ['netns', 'exec', 'pod-a', 'ping', '-q', '-c', '40', '-i', '0.1', '10.244.2.2'], {
    stdio: 'ignore',
  });
  try {
    const request = page.locator('[data-flow^="icmp 10.244.1.2:"][data-flow$="> 10.244.2.2:2048"]');
    await expect(request).toHaveCount(1, { timeout: 20_000 });
    await expect(request).toContainText('pod-a → node1 → host → node2 → pod-c');
    await expect(page.getByTestId(flowIds.edge('pod-a', 'node1'))).toBeVisible();
    await expect(page.getByTestId(flowIds.edge('node2', 'pod-c'))).toBeVisible();
    // Each arrowhead is its line's colour (a marker does not inherit it from the path).
    const tones = await page
      .getByTestId(flowIds.map)
      .locator('g[data-tone]')
      .evaluateAll((gs) =>
        gs.map((g) => {
          const line = g.querySelector('path');
          const id = /url\(["']?#([^"')]+)/.exec(line?.getAttribute('marker-end') ?? '')?.[1] ?? '';
          const head = document.getElementById(id)?.querySelector('path');
          return [line ? getComputedStyle(line).stroke : 'no line', head ? getComputedStyle(head).fill : 'no head'];
        }),
      );
    expect(tones.length).toBeGreaterThanOrEqual(8);
    for (const [line, head] of tones) expect(head).toBe(line);

    // Sorting by flow name, ascending, puts 10.244.1.2's request before 10.244.2.2's reply.
    await page.getByTestId(flowIds.sort('flow')).click();
    await expect(page.getByTestId(flowIds.sort('flow'))).toHaveAttribute('aria-sort', 'ascending');
    const ids = await page
      .locator(`[data-testid^="flows-row-"]`)
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-flow') ?? ''));
    expect(ids).toEqual([...ids].sort((a, b) => a.localeCompare(b)));

    await request.click();
    await expect(request).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByTestId(flowIds.journey)).toBeVisible({ timeout: 15_000 });
    const lanes = await page
      .getByTestId(hopIds.diagram)
      .locator('[data-testid^="hd-lane-"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-lane')));
    expect(lanes).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
  } finally {
    ping.kill();
  }
});
