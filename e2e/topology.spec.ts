import { execFileSync, spawnSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { macMapIds } from '../app/components/mac-map/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

// The MAC/veth map against the lab (global setup brings it up): pods under their node, a bridge's MAC table
// on click, and the "Where is this MAC or IP?" search lighting up interfaces.
test('the MAC map shows pod-a, and clicking cni0 on node1 shows its MAC table', async ({ page }) => {
  // A ping makes node1's cni0 learn pod-a's MAC, so the table has a learned (non-local) row to show.
  execFileSync('ip', ['netns', 'exec', 'pod-a', 'ping', '-c1', '-W2', '10.244.1.3'], { stdio: 'ignore' });
  const podAMac = JSON.parse(execFileSync('ip', ['-n', 'pod-a', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }))[0]
    .address as string;

  await page.goto('/');
  await page.getByTestId(shellIds.tab('map')).click();
  await expect(page.getByTestId(macMapIds.status)).toHaveAttribute('data-state', 'ready');
  const podA = page.getByTestId(macMapIds.namespace('pod-a'));
  await expect(podA).toBeVisible();
  await expect(podA).toHaveAttribute('data-kind', 'pod');
  await expect(podA).toContainText('10.244.1.2/24');

  await page.getByTestId(macMapIds.iface('node1', 'cni0')).click();
  const table = page.getByTestId(macMapIds.macTable);
  await expect(table).toBeVisible();
  await expect(table).toContainText('veth-pod-a');
  await expect(table.locator(`tr[data-mac="${podAMac}"]`)).toContainText('no');

  await page.getByTestId(macMapIds.search).fill('10.244.1.2');
  await expect(page.getByTestId(macMapIds.iface('pod-a', 'eth0'))).toHaveAttribute('data-lit', 'true');
  // pod-b learned pod-a in its ARP table during the ping, so its eth0 lights up too; pod-c never saw it.
  await expect(page.getByTestId(macMapIds.iface('pod-c', 'eth0'))).toHaveAttribute('data-lit', 'false');
  await page.getByTestId(macMapIds.search).fill(podAMac);
  await expect(page.getByTestId(macMapIds.searchResults)).toContainText('node1/cni0');
});

test('a new namespace and a link going down reach the map without a reload', async ({ page }) => {
  const ns = 'pjt-topo-e2e';
  spawnSync('ip', ['netns', 'del', ns]);
  try {
    await page.goto('/');
    await page.getByTestId(shellIds.tab('map')).click();
    await expect(page.getByTestId(macMapIds.status)).toHaveAttribute('data-state', 'ready');
    await expect(page.getByTestId(macMapIds.namespace('pod-a'))).toBeVisible();

    let t0 = Date.now();
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'pjt-a', 'type', 'veth', 'peer', 'name', 'pjt-b']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'pjt-a', 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'pjt-b', 'up']);
    await expect(page.getByTestId(macMapIds.iface(ns, 'pjt-a'))).toHaveAttribute('data-up', 'true', { timeout: 3000 });
    expect(Date.now() - t0).toBeLessThan(1500); // 1 s budget plus the browser's polling slack

    t0 = Date.now();
    execFileSync('ip', ['-n', ns, 'link', 'set', 'pjt-a', 'down']);
    await expect(page.getByTestId(macMapIds.iface(ns, 'pjt-a'))).toHaveAttribute('data-up', 'false', { timeout: 3000 });
    expect(Date.now() - t0).toBeLessThan(1500);
    await page.screenshot({ path: 'test-results/mac-map-live.png' });
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
