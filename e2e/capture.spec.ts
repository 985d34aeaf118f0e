import { execFile } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { captureIds } from '../app/components/capture/test-ids';
import { shellIds } from '../app/components/shell/test-ids';
import { SEED000_FRAME, vxlanFrame } from '../server/capture/fixtures/frames';
import { writePcap } from '../server/capture/pcap';

// The server saves into its captures folder; remove what these tests made (names they produce, newer
// than the run) so repeated runs do not pile files up.
const started = Date.now();
test.afterAll(() => {
  const dir = resolve(process.env.PJ_CAPTURE_DIR ?? 'captures');
  const names = (() => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  })();
  for (const n of names) {
    if (!/^\.?(node1-veth-pod-a|upload-seed000)-\d{8}-\d{6}/.test(n)) continue;
    const p = join(dir, n);
    if (statSync(p).mtimeMs >= started - 1000) rmSync(p, { force: true });
  }
});

async function openPanel(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId(shellIds.connection)).toHaveAttribute('data-state', 'connected');
  await page.getByTestId(shellIds.tab('capture')).click();
  await expect(page.getByTestId(captureIds.panel)).toBeVisible();
}

test('capture on a lab veth: filter bytecode, bad filter error, live packets during a ping', async ({ page }) => {
  await openPanel(page);
  await page.getByTestId(captureIds.netns).selectOption('node1');
  await page.getByTestId(captureIds.iface).selectOption('veth-pod-a');

  await page.getByTestId(captureIds.filter).fill('icmp and');
  await expect(page.getByTestId(captureIds.filterError)).toContainText('bad filter');
  await expect(page.getByTestId(captureIds.start)).toBeDisabled();

  await page.getByTestId(captureIds.filter).fill('icmp');
  await expect(page.getByTestId(captureIds.bytecode)).toContainText('ldh      [12]');
  await page.getByTestId(captureIds.start).click();
  await expect(page.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'running');

  // Bounded, and said when it is what hangs: CI once spent this test's 60 s with no step named.
  const pinged = await new Promise<string>((resolve) =>
    execFile(
      'ip',
      ['netns', 'exec', 'pod-a', 'ping', '-c', '3', '-i', '0.3', '-w', '10', '10.244.2.2'],
      { timeout: 15_000 },
      (err, out, stderr) => resolve(err ? `ping: ${err.message} ${stderr}` : out),
    ),
  );
  expect(pinged, pinged).toMatch(/3 packets transmitted, 3 received/);
  await expect(page.getByTestId(captureIds.list)).toContainText('10.244.1.2 > 10.244.2.2: ICMP echo request');
  await expect(page.getByTestId(captureIds.list)).toContainText('10.244.2.2 > 10.244.1.2: ICMP echo reply');

  await page.getByTestId(captureIds.row(0)).click();
  await expect(page.getByTestId(captureIds.detail)).toContainText('Internet Control Message Protocol');
  await page.getByTestId(captureIds.stop).click();
  await expect(page.getByTestId(captureIds.status)).toHaveAttribute('data-state', 'stopped');
  await expect(page.getByTestId(captureIds.export)).toHaveAttribute('href', /^\/captures\/.+\.pcapng$/);
});

test('a crafted DSR packet shows its decode step by step, with hex and tree linked both ways', async ({ page }) => {
  await openPanel(page);
  const pcap = writePcap(1, [
    { data: vxlanFrame(), tsSec: 1700000000, tsNsec: 0 },
    { data: SEED000_FRAME, tsSec: 1700000001, tsNsec: 0 },
  ]);
  await page
    .getByTestId(captureIds.upload)
    .setInputFiles({ name: 'seed000.pcap', mimeType: 'application/vnd.tcpdump.pcap', buffer: pcap });
  await expect(page.getByTestId(captureIds.row(1))).toHaveAttribute('data-dsr', 'true');
  await expect(page.getByTestId(captureIds.row(0))).toHaveAttribute('data-dsr', 'false');

  // Open the VXLAN packet, then step to the DSR one from the keyboard.
  await page.getByTestId(captureIds.row(0)).click();
  await expect(page.getByTestId(captureIds.detail)).toContainText('Virtual eXtensible Local Area Network');
  await page.getByTestId(captureIds.list).press('ArrowDown');
  const dsr = page.getByTestId(captureIds.dsr);
  await expect(page.getByTestId(captureIds.dsrResult)).toHaveText('172.18.0.2:31400');
  await expect(dsr).toContainText('a8 7a → 0x7aa8');
  await expect(dsr).toContainText('02 00 12 ac → 0xac120002');
  await expect(dsr).toContainText('0x7aa8 = 31400');
  await expect(dsr).toContainText('ac=172 12=18 00=0 02=2');

  // Hex -> tree: the port's first byte selects the "Service port" field.
  await page.getByTestId(captureIds.hexByte(36)).click();
  const selected = page.locator(`[data-selected="true"]`);
  await expect(selected).toContainText('Service port (little-endian)');
  await expect(page.getByTestId(captureIds.hexByte(37))).toHaveAttribute('data-hl', 'true');
  await expect(page.getByTestId(captureIds.hexByte(38))).toHaveAttribute('data-hl', 'false');

  // Tree -> hex: the source address field highlights bytes 26..29.
  await page.getByText('Source Address', { exact: true }).first().click();
  for (const off of [26, 27, 28, 29])
    await expect(page.getByTestId(captureIds.hexByte(off))).toHaveAttribute('data-hl', 'true');
  await expect(page.getByTestId(captureIds.hexByte(30))).toHaveAttribute('data-hl', 'false');

  // A note on the packet is accepted (it goes into the export as a pcapng comment).
  await page.getByTestId(captureIds.note).fill('NodePort 31400 on node1, seen on node2');
  await page.getByTestId(captureIds.noteSave).click();
  await expect(page.getByText('saved', { exact: true })).toBeVisible();
});
