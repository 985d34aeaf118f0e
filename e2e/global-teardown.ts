import { execFileSync } from 'node:child_process';

export default function globalTeardown(): void {
  execFileSync('npx', ['tsx', 'server/cli.ts', 'lab', 'down'], { stdio: 'inherit' });
}
