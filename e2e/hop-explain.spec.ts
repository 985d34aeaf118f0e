// Issue 12 in the browser: "follow this" on a scenario card runs its follow on the Follow tab; hop
// reasons render where the server sends them; after bpf_redirect_peer (ebpf-routing) the pod's arrival
// is a dashed, inferred hop. Runs on the embedded lab (basic), switches scenario by CLI, restores basic.
import { execFileSync } from 'node:child_process';
import { expect, test, type Page } from '@playwright/test';
import type { Journey } from '../server/protocol/tracer';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { followThisId } from '../app/components/lab/follow-presets';
import { labIds } from '../app/components/lab/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

const cli = (...args: string[]): string =>
  execFileSync('npx', ['tsx', 'server/cli.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

test.afterAll(() => {
  cli('lab', 'up', '--scenario', 'basic');
});

/** The Lab tab's "follow this" for the running scenario: it opens the Follow tab and runs the follow. */
async function followThis(page: Page, scenario: string): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await page.getByTestId(labIds.scenario(scenario)).click();
  const button = page.getByTestId(followThisId);
  await expect(button).toHaveAttribute('data-scenario', scenario);
  await expect(button).toContainText('pod-a → pod-c (icmp)');
  await button.click();
  await expect(page.getByTestId(hopIds.panel)).toBeVisible();
  await expect(page.getByTestId(hopIds.fromNs('pod-a'))).toHaveAttribute('data-selected', 'true');
  await expect(page.getByTestId(hopIds.diagram)).toHaveAttribute('data-pending', 'false', { timeout: 30_000 });
  await expect(page.getByTestId(hopIds.summary)).toHaveAttribute('data-outcome', 'ok');
}

test('basic: "follow this" runs pod-a → pod-c; every hop reason the server sends is drawn', async ({ page }) => {
  await followThis(page, 'basic');
  const diagram = page.getByTestId(hopIds.diagram);
  await expect(diagram.locator('g[data-lane="pod-c"][data-path="request"]').first()).toBeVisible();
  // The same follow from the CLI says how many hops carry a reason (none until the explainer lands).
  const j = JSON.parse(cli('follow', '--from', 'pod-a', '--to', 'pod-c', '--json')) as Journey;
  const withReason = [...j.hops, ...(j.reply?.hops ?? [])].filter((h) => h.reason).length;
  await expect(diagram.getByTestId(hopIds.hopReason)).toHaveCount(withReason);
  // Nothing is inferred in a plain kernel datapath, and a delivered journey has no diagnosis.
  await expect(diagram.locator('g[data-inferred="true"]')).toHaveCount(0);
  await expect(page.getByTestId(hopIds.diagnosis)).toHaveCount(0);
  const first = diagram.locator('g[data-path="request"]').first();
  await first.click();
  await expect(page.getByTestId(hopIds.detailReason)).toHaveCount(j.hops[0]?.reason ? 1 : 0);
});

test('ebpf-routing: the arrival on pod-c eth0 after bpf_redirect_peer is an inferred, dashed hop', async ({ page }) => {
  cli('lab', 'up', '--scenario', 'ebpf-routing');
  await followThis(page, 'ebpf-routing');
  const diagram = page.getByTestId(hopIds.diagram);
  const arrival = diagram.locator('g[data-path="request"][data-inferred="true"]');
  await expect(arrival).toHaveCount(1);
  await expect(arrival).toHaveAttribute('data-lane', 'pod-c');
  await expect(arrival).toHaveAttribute('data-ifname', 'eth0');
  await expect(arrival).toContainText('inferred: peer redirect');
  await expect(arrival).toContainText('from node2/eth0');
  expect(await arrival.locator('rect').first().getAttribute('stroke-dasharray')).toBe('10 6');
  // The reply leaves pod-c normally and is itself peer-redirected into pod-a.
  await expect(diagram.locator('g[data-path="reply"][data-inferred="true"][data-lane="pod-a"]')).toHaveCount(1);
  await arrival.click();
  await expect(page.getByTestId(hopIds.detailInferred)).toContainText('node2/eth0');
});
