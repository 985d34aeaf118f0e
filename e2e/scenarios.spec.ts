import { execFileSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { labIds } from '../app/components/lab/test-ids';

// The other specs expect the basic lab: put it back whatever this one left.
test.afterAll(() => {
  execFileSync('npx', ['tsx', 'server/cli.ts', 'lab', 'up', '--scenario', 'basic'], { stdio: 'inherit' });
});

test('pick the dsr scenario in the Lab tab, watch it come up, read it, attach and detach drop-all', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'up');
  await page.getByTestId(labIds.scenario('dsr')).click();
  const card = page.getByTestId(labIds.scenarioDescription);
  await expect(card).toContainText('0x9a');
  await page.getByTestId(labIds.scenarioUp).click();
  // The switch rebuilds the lab: progress lines arrive while it runs.
  await expect(page.getByTestId(labIds.progress)).toContainText('scenario dsr');
  await expect(page.getByTestId(labIds.scenario('dsr'))).toHaveAttribute('data-running', 'true', {
    timeout: 60_000,
  });
  await expect(page.getByTestId(labIds.state)).toHaveAttribute('data-state', 'up');

  const panel = page.getByTestId(labIds.programs);
  await expect(panel).toBeVisible();
  await page.getByTestId(labIds.progProgram).selectOption('drop-all');
  await page.getByTestId(labIds.progNetns).selectOption('node1');
  await page.getByTestId(labIds.progIface).fill('eth0');
  await page.getByTestId(labIds.progHook).selectOption('tc-ingress');
  await page.getByTestId(labIds.progAttach).click();
  const row = page.getByTestId(labIds.progRow('node1', 'eth0', 'tc-ingress'));
  await expect(row).toContainText('drop_all');
  // The kernel really has it: tc on node1's eth0 lists the program.
  const shown = execFileSync(
    'nsenter',
    ['--net=/var/run/netns/node1', 'tc', 'filter', 'show', 'dev', 'eth0', 'ingress'],
    {
      encoding: 'utf8',
    },
  );
  expect(shown).toContain('drop_all');

  await page.getByTestId(labIds.progDetach('node1', 'eth0', 'tc-ingress')).click();
  await expect(row).toHaveCount(0);
  const after = execFileSync(
    'nsenter',
    ['--net=/var/run/netns/node1', 'tc', 'filter', 'show', 'dev', 'eth0', 'ingress'],
    {
      encoding: 'utf8',
    },
  );
  expect(after).not.toContain('drop_all');

  // A name outside the lab is refused with one line, and nothing is attached.
  await page.getByTestId(labIds.progIface).fill('nonexistent0');
  await page.getByTestId(labIds.progAttach).click();
  await expect(page.getByTestId(labIds.progError)).toContainText('nonexistent0');
  await expect(page.getByTestId(labIds.progRow('node1', 'nonexistent0', 'tc-ingress'))).toHaveCount(0);
});
