// Whether dist/ (scripts/build-cli.mjs) is current: built after the last change of every repo file that
// went into it. One stat per source (about a hundred, well under a millisecond each on a warm cache).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `{ fresh: true, builtAt }`, or `{ fresh: false, why }` in words for `--version` and setup. */
export function bundleState(root) {
  let build;
  try {
    build = JSON.parse(readFileSync(join(root, 'dist', 'build.json'), 'utf8'));
  } catch {
    return { fresh: false, why: 'not built' };
  }
  if (typeof build?.startedAt !== 'number' || !Array.isArray(build.inputs)) return { fresh: false, why: 'not built' };
  for (const f of build.inputs) {
    let mtime;
    try {
      mtime = statSync(join(root, f)).mtimeMs;
    } catch {
      return { fresh: false, why: `${f} is gone` };
    }
    // Against the build's start: a file saved while it ran may not be in it.
    if (mtime >= build.startedAt) return { fresh: false, why: `${f} changed since the build` };
  }
  return { fresh: true, builtAt: build.startedAt };
}
