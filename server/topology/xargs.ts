// One command in many namespaces, cheaply: `xargs` (a small process, cheap to fork from, unlike Node)
// runs `nsenter --net=PATH CMD…` per namespace, in `streams` parallel chains to use every core. There are
// no headers, so output is matched by order: each namespace must print exactly `linesEach` non-empty
// lines. Any other count (a namespace vanished, the command failed) gives undefined, and the caller
// falls back to one spawn per namespace.
import { exec } from '../sys/exec';
import type { NsEntry } from './enumerate';
import { NETNS_DIR } from './namespaces';

/** The nsfs path nsenter enters for a named or process namespace (undefined for the host). */
export function nsPath(e: NsEntry): string | undefined {
  if (e.target.kind === 'named') return `${NETNS_DIR}/${e.target.name}`;
  if (e.target.kind === 'pid') return `/proc/${e.target.pid}/ns/net`;
  if (e.target.kind === 'path') return e.target.path;
  return undefined;
}

/** Each entry's output (its `linesEach` lines joined by newlines), keyed by entry name. */
export async function xargsInNetns(
  entries: readonly NsEntry[],
  argv: readonly string[],
  opts: { readonly streams: number; readonly linesEach: number },
): Promise<Map<string, string> | undefined> {
  const { linesEach } = opts;
  const chunks: NsEntry[][] = Array.from({ length: Math.max(1, Math.min(opts.streams, entries.length)) }, () => []);
  entries.forEach((e, i) => chunks[i % chunks.length]?.push(e));
  const results = await Promise.all(
    chunks.map((chunk) =>
      exec(['xargs', '-0', '-I{}', 'nsenter', '--net={}', '--', ...argv], {
        input: chunk.map((e) => nsPath(e) ?? '').join('\0'),
        timeoutMs: 20_000,
      }),
    ),
  );
  const out = new Map<string, string>();
  for (const [ci, r] of results.entries()) {
    const chunk = chunks[ci] ?? [];
    const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
    if (r.code !== 0 || lines.length !== chunk.length * linesEach) return undefined;
    chunk.forEach((e, i) => out.set(e.name, lines.slice(i * linesEach, (i + 1) * linesEach).join('\n')));
  }
  return out;
}
