#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// `packet-journey` (setup links it into /usr/local/bin; `npx packet-journey` runs it too). It runs the
// bundle in dist/ in this process when it is current, and otherwise the TypeScript sources through tsx's
// loader (a checkout being edited, or never built): same behaviour, only slower to start. `--version` says
// which.
// The shebang drops NODE_EXTRA_CA_CERTS: Node reads and parses that file before any script runs (60 ms
// per call for the 146 certificates of ca-certificates.crt here), and nothing packet-journey does uses TLS.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleState } from './bundle-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const state = bundleState(root);
const runner = state.fresh
  ? `bundle dist/cli.mjs, built ${new Date(state.builtAt).toISOString()}`
  : `tsx server/cli.ts; bundle not used: ${state.why} (\`npm run build:cli\` rebuilds it)`;

if (argv[0] === '--version' || argv[0] === '-V') {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  process.stdout.write(`packet-journey ${version} (${runner})\n`);
  process.exit(0);
}
if (process.env.PJ_DEBUG) process.stderr.write(`packet-journey: ${runner}\n`);

if (state.fresh) {
  const { main } = await import(pathToFileURL(join(root, 'dist', 'cli.mjs')).href);
  process.exit(await main(argv));
}
// tsx's loader in this process, not a tsx child: a signal sent to this pid (a supervisor's SIGTERM, `kill`)
// must reach the command's own handlers, as it does with the bundle. A child under spawnSync was left
// running, with its probe loader, when this process died of it.
let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch (e) {
  process.stderr.write(`packet-journey: cannot start tsx (${e.message}); run \`npm run setup\` first\n`);
  process.exit(1);
}
register();
const { main } = await import(pathToFileURL(join(root, 'server', 'cli.ts')).href);
process.exit(await main(argv));
