// IPv6 in the UI (issue 14 §2): the IPv6 chip sends a follow to pod-c's IPv6 address on the dual-stack lab,
// and the diagram draws the same path as for IPv4, with IPv6 addresses in the caption and the hop detail.
import { expect, test } from '@playwright/test';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

const CROSS_NODE = ['pod-a', 'node1', 'host', 'node2', 'pod-c'];

test('the IPv6 chip follows a ping6 pod-a -> pod-c: the path is drawn and the hop detail reads IPv6', async ({
  page,
}) => {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await page.getByTestId(shellIds.tab('follow')).click();
  await page.getByTestId(hopIds.fromNs('pod-a')).click();
  await page.getByTestId(hopIds.toNs('pod-c')).click();
  await page.getByTestId(hopIds.ipv6).click();
  await expect(page.getByTestId(hopIds.ipv6)).toHaveAttribute('data-selected', 'true');
  await page.getByTestId(hopIds.followButton).click();

  const diagram = page.getByTestId(hopIds.diagram);
  await expect(diagram).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  await expect(page.getByTestId(hopIds.summary)).toHaveAttribute('data-outcome', 'ok');
  const lanes = await diagram
    .locator('[data-testid^="hd-lane-"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-lane')));
  expect(lanes).toEqual(CROSS_NODE);
  await expect(diagram.locator('g[data-tone="drop"]')).toHaveCount(0);

  await page.getByTestId(hopIds.hop('request', 'pod-a', 0)).click();
  const detail = page.getByTestId(hopIds.detail);
  await expect(detail).toContainText('fd00:10:244:1::2');
  await expect(detail).toContainText('fd00:10:244:2::2');
  await expect(detail).toContainText('echo request');
  await expect(detail).toContainText('hop limit');
  await expect(detail).toContainText('flow label');
  // The address is read whole: nothing of the detail runs out of the panel.
  const overflow = await detail.evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(overflow).toBeLessThanOrEqual(1);
});
