// Steps several specs take the same way, as a user would in the UI.
import { expect, type Page } from '@playwright/test';
import { captureIds } from '../app/components/capture/test-ids';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

/** The Follow tab, pod-a → pod-c by ICMP, followed until its diagram is final and delivered. */
export async function followPodAtoPodC(page: Page): Promise<void> {
  await page.getByTestId(shellIds.tab('follow')).click();
  await page.getByTestId(hopIds.fromNs('pod-a')).click();
  await page.getByTestId(hopIds.toNs('pod-c')).click();
  await page.getByTestId(hopIds.proto('icmp')).click();
  await page.getByTestId(hopIds.followButton).click();
  await expect(page.getByTestId(hopIds.diagram)).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  await expect(page.getByTestId(hopIds.summary)).toHaveAttribute('data-outcome', 'ok');
}

/** The Capture tab, an ICMP capture on node1's veth-pod-a, started and running. */
export async function startCaptureOnVethPodA(page: Page): Promise<void> {
  await page.getByTestId(shellIds.tab('capture')).click();
  await page.getByTestId(captureIds.netns).selectOption('node1');
  await page.getByTestId(captureIds.iface).selectOption('veth-pod-a');
  await page.getByTestId(captureIds.filter).fill('icmp');
  await page.getByTestId(captureIds.start).click();
  await expect(page.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'running');
}
