import { expect, test } from '@playwright/test';
import { labIds } from '../app/components/lab/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

test('home page shows the lab up with its namespaces', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'up');
  for (const ns of ['host', 'node1', 'node2', 'pod-a', 'pod-b', 'pod-c', 'pod-d']) {
    await expect(page.getByTestId(labIds.namespace(ns))).toHaveAttribute('data-present', 'true');
  }
  await expect(page.getByTestId(labIds.service)).toContainText('10.96.0.10:80');
});

test('the lab can be torn down and started from the browser, with progress shown', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'up');
  await page.getByTestId(labIds.downButton).click();
  await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'down');
  await expect(page.getByTestId(labIds.namespace('pod-a'))).toHaveAttribute('data-present', 'false');
  await page.getByTestId(labIds.upButton).click();
  await expect(page.getByTestId(labIds.progress)).toContainText('creating namespaces');
  await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'up');
  await expect(page.getByTestId(labIds.namespace('pod-a'))).toHaveAttribute('data-present', 'true');
});
