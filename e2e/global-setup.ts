import { execFileSync } from 'node:child_process';

// The e2e specs run against the embedded lab, as a workshop would.
export default function globalSetup(): void {
  execFileSync('npx', ['tsx', 'server/cli.ts', 'lab', 'up'], { stdio: 'inherit' });
}
