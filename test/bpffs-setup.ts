// Per test file: tc's and ip's BPF object loaders create /sys/fs/bpf/{tc,ip,xdp} on first use, and tests
// that load the lab's objects into their own namespaces would leave them behind. Whatever of these did
// not exist before a file is removed after it (the leak check compares bpffs with its state before the
// suite). The file's own afterAll hooks (lab down) run first: vitest runs after-hooks in reverse order.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { LOADER_DIRS, exists } from '../server/lab/bpf';

let absent: string[] = [];
beforeAll(async () => {
  absent = [];
  for (const p of LOADER_DIRS) if (!(await exists(p))) absent.push(p);
});
afterAll(async () => {
  for (const p of absent) await rm(p, { recursive: true, force: true });
});
