// Issue 13, languages: switching to French changes the labels, the narration of a followed journey
// (the server's Msgs rendered in the browser), the projector's step-through and the errors, at once and
// without a reload; the choice survives a reload (cookie), and switching back gives the English words
// the CLI prints. Screenshots are kept in test-results/.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { Journey } from '../server/protocol/tracer';
import { captureIds } from '../app/components/capture/test-ids';
import { hopIds } from '../app/components/hop-diagram/test-ids';
import { projectorIds } from '../app/components/projector/test-ids';
import { shellIds } from '../app/components/shell/test-ids';
import { i18nIds } from '../app/i18n/test-ids';
import { followPodAtoPodC } from './steps';

const shot = (page: Page, name: string) => page.screenshot({ path: test.info().outputPath(`${name}.png`) });

test.use({ locale: 'en-US' });

test('French: labels, narration, projector step-through and errors change; back to English', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  const followTab = page.getByTestId(shellIds.tab('follow'));
  await expect(followTab).toHaveText('Follow');

  // Follow pod-a → pod-c in English first: the narration the server wrote.
  await followTab.click();
  await expect(page.getByTestId(hopIds.followButton)).toHaveText('Follow ▶');
  await followPodAtoPodC(page);
  // Each box's reason (ellipsized, its <title> holds it whole): the veth arrivals name where from.
  const reasons = page.getByTestId(hopIds.hopReason);
  await expect(reasons.first()).toContainText('routed by pod-a');
  const arrivals = reasons.filter({ hasText: 'received from pod-a eth0' });
  await expect(arrivals).not.toHaveCount(0);
  const n = await arrivals.count();

  // Switch: no reload, the journey stays, its words change.
  await page.getByTestId(i18nIds.locale('fr')).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await expect(page.getByTestId(i18nIds.locale('fr'))).toHaveAttribute('aria-pressed', 'true');
  await expect(followTab).toHaveText('Suivre');
  await expect(page.getByTestId(shellIds.tab('map'))).toHaveText('Carte MAC');
  await expect(page.getByTestId(hopIds.followButton)).toHaveText('Suivre ▶');
  await expect(page.getByTestId(hopIds.summary)).toContainText('délivré');
  await expect(reasons.first()).toContainText('routé par pod-a');
  await expect(reasons.filter({ hasText: 'reçu de pod-a eth0' })).toHaveCount(n);
  await expect(reasons.filter({ hasText: 'received from' })).toHaveCount(0);
  await expect(reasons.filter({ hasText: 'routed by' })).toHaveCount(0);
  await shot(page, 'fr-journey');

  // The projector's step-through narrates in French; names and routes stay as they are.
  await page.keyboard.press('ArrowRight');
  const narration = page.getByTestId(projectorIds.narration);
  await expect(narration).toContainText(/^routé par pod-a[ :]/);
  await page.keyboard.press('ArrowRight');
  await expect(narration).toHaveText('reçu de pod-a eth0');
  await shot(page, 'fr-step-through');
  await page.keyboard.press('Escape');

  // The JSON export stays what `follow --json` prints: English reasons, with their Msgs.
  await page.getByTestId(projectorIds.exportMenu).locator('summary').click();
  const [d] = await Promise.all([
    page.waitForEvent('download', { timeout: 15_000 }),
    page.getByTestId(projectorIds.exportJson).click(),
  ]);
  const exported = Journey.parse(JSON.parse(readFileSync(await d.path(), 'utf8')));
  expect(exported.hops[0]?.reason).toMatch(/^routed by pod-a/);
  expect(exported.hops[0]?.reasonMsg?.key).toMatch(/^explain\.routed/);

  // A refused action, in French: a bad pcap filter (tcpdump's own words inside a French frame), and a
  // bad target typed in the follow form (the zod line, keyed).
  await page.getByTestId(shellIds.tab('capture')).click();
  await expect(page.getByTestId(shellIds.tab('capture'))).toHaveText('Capture');
  await page.getByTestId(captureIds.netns).selectOption('node1');
  await page.getByTestId(captureIds.iface).selectOption('veth-pod-a');
  await page.getByTestId(captureIds.filter).fill('icmp and');
  await expect(page.getByTestId(captureIds.filterError)).toContainText(/^filtre invalide : /);
  await expect(page.getByTestId(captureIds.start)).toBeDisabled();
  await expect(page.getByTestId(captureIds.start)).toHaveText('Capturer');
  await shot(page, 'fr-capture-refused');
  await page.getByTestId(captureIds.filter).fill('');

  await followTab.click();
  await page.getByTestId(hopIds.toInput).fill('pas un nom!');
  await page.getByTestId(hopIds.followButton).click();
  await expect(page.getByTestId(hopIds.error)).toHaveText('to : ce n’est ni une IP ni un nom d’espace de noms');

  // Remembered: a reload comes back in French, from the first paint (the server reads the cookie).
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await expect(page.getByTestId(shellIds.tab('follow'))).toHaveText('Suivre');

  // And back to English: the words the CLI prints.
  await page.getByTestId(i18nIds.locale('en')).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByTestId(shellIds.tab('follow'))).toHaveText('Follow');
  await expect(page.getByTestId(shellIds.tab('map'))).toHaveText('MAC map');
  await shot(page, 'en-again');
});

test('a French browser gets French at once; the cookie wins over it', async ({ browser }) => {
  const ctx = await browser.newContext({ locale: 'fr-FR' });
  const page = await ctx.newPage();
  await page.goto('/');
  await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
  await expect(page.getByTestId(shellIds.tab('lab'))).toHaveText('Lab');
  await expect(page.getByTestId(shellIds.tab('capture'))).toHaveText('Capture');
  await expect(page.getByTestId(shellIds.tab('follow'))).toHaveText('Suivre');
  await shot(page, 'fr-browser-lab');
  await page.getByTestId(i18nIds.locale('en')).click();
  await page.reload();
  await expect(page.getByTestId(shellIds.tab('follow'))).toHaveText('Follow');
  await ctx.close();
});
