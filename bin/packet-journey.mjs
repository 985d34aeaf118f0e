#!/usr/bin/env node
// Entry point for `npx packet-journey`: runs the TypeScript CLI through tsx, with the exit code passed on.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const r = spawnSync(tsx, [join(root, 'server', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.error) {
  process.stderr.write(`packet-journey: cannot start tsx (${r.error.message}); run \`npm run setup\` first\n`);
  process.exit(1);
}
process.exit(r.status ?? 1);
