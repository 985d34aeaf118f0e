#!/usr/bin/env node
// Bundles the CLI (and the server it starts with `serve`) from server/*.ts into dist/ with esbuild, so a
// call runs plain JavaScript instead of compiling TypeScript through tsx each time (about 0.5 s).
//   node scripts/build-cli.mjs           build when a source is newer than the bundle (setup runs this)
//   node scripts/build-cli.mjs --force   build anyway
// dist/build.json lists the repo files that went in; bin/packet-journey.mjs runs the bundle only while
// none of them changed since the build, and falls back to tsx otherwise.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleState } from '../bin/bundle-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const force = process.argv.includes('--force');
const unknown = process.argv.slice(2).filter((a) => a !== '--force');
if (unknown.length > 0) {
  process.stderr.write(`build-cli: unknown argument "${unknown[0]}" (only --force)\n`);
  process.exit(2);
}

const state = bundleState(root);
if (!force && state.fresh) process.exit(0);

// Every module is bundled into one flat folder, so `import.meta.url` would name the chunk, not the source
// file: paths such as '../../probes/build/loader' would then miss. Each source file gets its own URL back.
const sourceUrl = {
  name: 'source-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = relative(dist, args.path).split(sep).join('/');
      return {
        contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`),
        loader: 'ts',
      };
    });
  },
};

// zod's `z` namespace re-exports all its locales (about 370 kB of the bundle, parsed by every call); the
// CLI and server speak English only (their messages are catalog keys, server/protocol/i18n), so the bundle
// keeps `en` alone. `z.locales.xx` is then undefined: nothing here uses it.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

// use-intl (server/protocol/i18n/render.ts) imports react for its rich-text helpers, and loading react as
// CommonJS costs every call ~30 ms (the development build, scanned for its exports). Messages rendered
// here are strings and numbers, never elements, so use-intl gets a two-function stand-in instead.
const noReactForUseIntl = {
  name: 'no-react-for-use-intl',
  setup(build) {
    build.onResolve({ filter: /^react$/ }, (args) =>
      /[\\/]node_modules[\\/]use-intl[\\/]/.test(args.importer)
        ? { path: 'react', namespace: 'pj-no-react' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'pj-no-react' }, () => ({
      contents:
        'export const isValidElement = () => false;\n' +
        'export const cloneElement = () => { throw new Error("no React elements in the CLI"); };\n',
      loader: 'js',
    }));
  },
};

// socket.io-client, engine.io-client and socket.io-parser give Node (the `node` export condition, which
// esbuild always sets for platform node) their debug builds: with the `debug` package, 28 ms to load per
// follow through a server. Their plain ESM builds are the same code without it (and, for Node, the
// same transports: the `browser` field is what swaps those), so the bundle takes those.
const NO_DEBUG_BUILD = ['socket.io-client', 'engine.io-client', 'socket.io-parser'];
const noDebugBuilds = {
  name: 'no-debug-builds',
  setup(build) {
    build.onResolve({ filter: /^(socket\.io-client|engine\.io-client|socket\.io-parser)$/ }, (args) =>
      NO_DEBUG_BUILD.includes(args.path)
        ? { path: join(root, 'node_modules', args.path, 'build', 'esm', 'index.js') }
        : undefined,
    );
  },
};

// node_modules stay external (resolved at run time), except zod: loaded as its 97 files it costs ~90 ms
// of every call, bundled (and tree-shaken) a fraction of that; and use-intl, with the ICU parser under it.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const INLINE = new Set(['zod', 'socket.io-client', 'use-intl']);
const EXTERNAL = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
  .filter((d) => !INLINE.has(d))
  .flatMap((d) => [d, `${d}/*`]);

const startedAt = Date.now();
const { build } = await import('esbuild');
const tmp = join(root, `dist.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
try {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: 'server/cli.ts' },
    outdir: tmp,
    bundle: true,
    // Lazy verbs stay lazy: each dynamic import is its own chunk, so `--help` loads neither Next nor socket.io.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrl, zodEnglishOnly, noReactForUseIntl, noDebugBuilds],
    // The CommonJS inside bundled packages (ws under socket.io-client) requires node's modules.
    banner: {
      js: "import { createRequire as pjCreateRequire } from 'node:module'; const require = pjCreateRequire(import.meta.url);",
    },
  });
  // Repo files only: not node_modules, nor the stand-ins above (`pj-no-react:react`).
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/') && !f.includes(':'));
  // The build's own configuration counts as a source too.
  inputs.push('scripts/build-cli.mjs', 'bin/bundle-state.mjs');
  writeFileSync(join(tmp, 'build.json'), JSON.stringify({ startedAt, inputs: inputs.sort() }, null, 1) + '\n');
  // Swap in whole: a call running meanwhile sees the old bundle or none (then it uses tsx), never half.
  const old = join(root, `dist.old-${process.pid}`);
  try {
    renameSync(dist, old);
  } catch {
    // no previous build
  }
  renameSync(tmp, dist);
  rmSync(old, { recursive: true, force: true });
  process.stderr.write(`build-cli: dist/ built in ${Date.now() - startedAt} ms (${inputs.length} sources)\n`);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  process.stderr.write(`build-cli: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exit(1);
}
