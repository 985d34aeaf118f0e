import { defineConfig } from 'vitest/config';

// Integration tests share one kernel (netns, iptables, the lab's fixed names), so files run one at a time.
export default defineConfig({
  test: {
    include: ['server/**/*.test.ts', 'test/**/*.test.ts'],
    fileParallelism: false,
    // Removes the bpffs directories a file's BPF loads created (test/bpffs-setup.ts).
    setupFiles: ['test/bpffs-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
