// Runs once around the whole vitest run: whatever a test file left up, the lab goes down at the end.
import { execFileSync } from 'node:child_process';

export function teardown(): void {
  try {
    execFileSync('npx', ['tsx', 'server/cli.ts', 'lab', 'down'], { stdio: 'ignore' });
  } catch {
    // Nothing to do: the lab tests report leaks themselves.
  }
}
