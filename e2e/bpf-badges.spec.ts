import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { macMapIds } from '../app/components/mac-map/test-ids';
import { shellIds } from '../app/components/shell/test-ids';

// BPF programs on the MAC map (issue 12): a badge on the interface a lab teaching program is attached to,
// its id/tag in the detail, gone after detach; a cgroup program in the "socket-level" header line.
const cli = (...a: string[]) => execFileSync('npx', ['tsx', 'server/cli.ts', ...a], { encoding: 'utf8' });

test('drop-all on pod-a/eth0 and xdp-drop on pod-b/eth0 show as badges with id, tag and mode, gone on detach', async ({
  page,
}) => {
  spawnSync('npx', ['tsx', 'server/cli.ts', 'lab', 'prog', 'detach', '--netns', 'pod-a', '--iface', 'eth0']);
  try {
    await page.goto('/');
    await page.getByTestId(shellIds.tab('map')).click();
    await expect(page.getByTestId(macMapIds.status)).toHaveAttribute('data-state', 'ready');
    const badge = page.getByTestId(macMapIds.progBadge('pod-a', 'eth0', 'tc-ingress'));
    await expect(page.getByTestId(macMapIds.namespace('pod-a'))).toBeVisible();
    await expect(badge).toHaveCount(0);

    cli('lab', 'prog', 'attach', 'drop-all', '--netns', 'pod-a', '--iface', 'eth0');
    const filters = JSON.parse(
      execFileSync('ip', ['netns', 'exec', 'pod-a', 'tc', '-j', 'filter', 'show', 'dev', 'eth0', 'ingress'], {
        encoding: 'utf8',
      }),
    ) as { options?: { prog?: { id: number; tag: string } } }[];
    const prog = filters.find((f) => f.options?.prog)?.options?.prog;
    expect(prog).toBeDefined();

    await expect(badge).toBeVisible({ timeout: 5000 });
    await expect(badge).toContainText('tc↓ drop_all');
    await expect(badge).toHaveAttribute('data-prog-id', String(prog?.id));
    await expect(page.getByTestId(macMapIds.progBadge('pod-b', 'eth0', 'tc-ingress'))).toHaveCount(0);
    cli('lab', 'prog', 'attach', 'xdp-drop', '--netns', 'pod-b', '--iface', 'eth0');
    const xdp = page.getByTestId(macMapIds.progBadge('pod-b', 'eth0', 'xdp'));
    await expect(xdp).toContainText('xdp xdp_drop', { timeout: 5000 });
    // The lab loads it native on the veth (veth has driver XDP); the badge says what iproute2 says.
    const link = JSON.parse(
      execFileSync('ip', ['-n', 'pod-b', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }),
    ) as { xdp?: { mode: number; prog?: { id: number } } }[];
    const mode = { 1: 'driver', 2: 'generic', 3: 'offload' }[link[0]?.xdp?.mode ?? 0];
    await expect(xdp.locator('title')).toContainText(`id ${link[0]?.xdp?.prog?.id} `);
    await expect(xdp.locator('title')).toContainText(`mode ${mode ?? '?'}`);

    await page.getByTestId(macMapIds.iface('pod-a', 'eth0')).click();
    const table = page.getByTestId(macMapIds.progTable);
    await expect(table).toContainText('tc-ingress');
    await expect(table).toContainText(String(prog?.id));
    await expect(table).toContainText(prog?.tag ?? '?');
    await expect(table).toContainText('drop-all.bpf.o:[tc]');
    await page.screenshot({ path: 'test-results/bpf-badges.png' });

    cli('lab', 'prog', 'detach', '--netns', 'pod-a', '--iface', 'eth0');
    cli('lab', 'prog', 'detach', '--netns', 'pod-b', '--iface', 'eth0', '--hook', 'xdp');
    await expect(badge).toHaveCount(0, { timeout: 5000 });
    await expect(xdp).toHaveCount(0, { timeout: 5000 });
  } finally {
    spawnSync('npx', ['tsx', 'server/cli.ts', 'lab', 'prog', 'detach', '--netns', 'pod-a', '--iface', 'eth0']);
    spawnSync('npx', [
      'tsx',
      'server/cli.ts',
      'lab',
      'prog',
      'detach',
      '--netns',
      'pod-b',
      '--iface',
      'eth0',
      '--hook',
      'xdp',
    ]);
  }
});

test('a cgroup connect4 program is listed once in the socket-level line', async ({ page }) => {
  // An empty child cgroup: no process is in it, so no socket on the machine meets the program.
  const root = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[2] === 'cgroup2')?.[1];
  expect(root).toBeDefined();
  const cg = `${root}/pjt-bpf-e2e`;
  const pin = '/sys/fs/bpf/pjt-bpf-e2e';
  const detach = () => {
    spawnSync('bpftool', ['cgroup', 'detach', cg, 'connect4', 'pinned', `${pin}/sock_lb_connect`]);
    rmSync(pin, { recursive: true, force: true });
    try {
      rmdirSync(cg);
    } catch {
      // not there
    }
  };
  detach();
  try {
    mkdirSync(cg);
    execFileSync('bpftool', ['prog', 'loadall', 'probes/build/lab/sock-lb.bpf.o', pin]);
    execFileSync('bpftool', ['cgroup', 'attach', cg, 'connect4', 'pinned', `${pin}/sock_lb_connect`]);
    const id = (
      JSON.parse(
        execFileSync('bpftool', ['--json', 'prog', 'show', 'pinned', `${pin}/sock_lb_connect`], {
          encoding: 'utf8',
        }),
      ) as { id: number }
    ).id;

    await page.goto('/');
    await page.getByTestId(shellIds.tab('map')).click();
    const line = page.getByTestId(macMapIds.cgroupLine);
    await expect(line).toContainText(`connect4 sock_lb_connect (id ${id}) on cgroup /pjt-bpf-e2e`, { timeout: 5000 });
    // Not on the root: it applies to no lab namespace, so no card is marked.
    await expect(page.getByTestId(macMapIds.nsCgroupBadge('pod-a'))).toHaveCount(0);
    detach();
    await expect(line).toHaveCount(0, { timeout: 5000 });
  } finally {
    detach();
  }
});

test.describe('sock-lb scenario', () => {
  // The lab's own connect4 program sits on the cgroup v2 root (filtered to the lab's netns cookies).
  test.afterAll(() => {
    execFileSync('npx', ['tsx', 'server/cli.ts', 'lab', 'up', '--scenario', 'basic'], { stdio: 'inherit' });
  });

  test('root-cgroup programs mark every namespace card and the socket-level line', async ({ page }) => {
    cli('lab', 'up', '--scenario', 'sock-lb');
    await page.goto('/');
    await page.getByTestId(shellIds.tab('map')).click();
    await expect(page.getByTestId(macMapIds.cgroupLine)).toContainText('connect4 sock_lb_connect (id ');
    await expect(page.getByTestId(macMapIds.cgroupLine)).not.toContainText('on cgroup');
    await expect(page.getByTestId(macMapIds.nsCgroupBadge('pod-a'))).toContainText('socket BPF');
    await expect(page.getByTestId(macMapIds.nsCgroupBadge('node2'))).toBeVisible();
    await page.getByTestId(macMapIds.namespace('pod-a')).getByRole('button', { name: 'namespace pod-a' }).click();
    await expect(page.getByTestId(macMapIds.cgroupTable)).toContainText('getpeername4');
    await page.screenshot({ path: 'test-results/bpf-badges-sock-lb.png' });
  });
});
