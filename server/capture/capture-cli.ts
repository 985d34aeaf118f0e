// `packet-journey capture --netns <ns> --iface <if> [--filter expr] [--count N] -w PATH|NAME [--force]`
// A PATH (anything with a slash) is written exactly there, like tcpdump -w: the CLI runs as root on the
// user's own machine. A bare NAME goes to the captures folder, where the web UI lists it. The web API
// only ever takes names (CaptureStartReq), so its confinement to the folder is not loosened here.
import { constants } from 'node:fs';
import { open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineCommand, flagHelp, parseRequest, printJson, UsageError, type Command } from '../cli-args';
import { CaptureStartReq } from '../protocol/capture';
import { inNetns } from '../sys/exec';
import { Capture } from './capture';
import { CaptureManager, tcpdumpArgs } from './manager';
import { captureDir, capturePath } from './store';
import { CaptureError, checkFilter, namespaceGone, resolveTarget } from './targets';

const specs = {
  netns: { type: 'string', help: 'namespace to capture in (host, an ip netns name, a container…)', metavar: 'NS' },
  iface: { type: 'string', short: 'i', help: 'interface inside that namespace', metavar: 'IF' },
  filter: {
    type: 'string',
    short: 'f',
    help: 'pcap-filter expression, checked with tcpdump -d first',
    metavar: 'EXPR',
  },
  // What netns, iface, filter, count and the file name may be is CaptureStartReq's rule (parseRequest).
  count: { type: 'number', short: 'c', help: 'stop after N packets' },
  seconds: { type: 'number', min: 1, help: 'stop after N seconds' },
  write: {
    type: 'string',
    short: 'w',
    help: 'where to write: a path (with a slash: ./x, /tmp/x.pcapng) is written exactly there; a bare NAME.pcapng goes to the captures folder (PJ_CAPTURE_DIR, default ./captures)',
    metavar: 'PATH',
  },
  force: { type: 'boolean', help: 'overwrite the file at -w PATH if it exists (never a symlink)' },
  'print-bpf': { type: 'boolean', help: 'print the filter as cBPF bytecode (tcpdump -d) and exit' },
  json: { type: 'boolean', help: 'print packet rows as NDJSON and a JSON summary at the end' },
} as const;

const usage = `usage: packet-journey capture --netns <ns> --iface <if> [--filter "<expr>"] [--count N] -w PATH [--force]

Runs tcpdump inside the namespace and streams its packets through the decoder into an annotated pcapng
(one interface block named <if>@<ns>, DSR decodes as packet comments). Ctrl-C stops cleanly.

${flagHelp(specs)}`;

export const command: Command = defineCommand(specs, usage, async ({ flags, positionals }) => {
  if (positionals.length)
    throw new UsageError(`unexpected argument "${positionals[0]}" (quote the filter and pass it with --filter)`);
  const asPath = flags.write?.includes('/') ? resolve(flags.write) : undefined;
  const req = parseRequest(
    CaptureStartReq,
    {
      netns: flags.netns,
      iface: flags.iface,
      filter: flags.filter,
      count: flags.count,
      name: asPath ? undefined : flags.write || undefined,
    },
    { name: '-w' },
  );
  const { filter } = req;
  try {
    if (flags['print-bpf']) {
      const t = await resolveTarget(req.netns, req.iface);
      process.stdout.write((await checkFilter(t, filter)) + '\n');
      return 0;
    }
    if (!req.name && !asPath) throw new UsageError('-w PATH is required (or --print-bpf)');
    if (flags.force && !asPath)
      throw new UsageError('--force is for -w PATH; names in the captures folder are never overwritten');
    let c: Capture;
    let path: string;
    if (asPath) {
      path = asPath;
      c = await captureToPath(req, path, flags.force);
    } else {
      const dir = captureDir();
      path = capturePath(req.name as string, dir);
      c = await new CaptureManager().start({ ...req, save: true, dir });
    }
    process.stderr.write(`capturing on ${req.iface}@${req.netns}${filter ? ` (${filter})` : ''} -> ${path}\n`);
    c.watch({
      rows(rows) {
        for (const r of rows) {
          if (flags.json) process.stdout.write(JSON.stringify(r) + '\n');
          else process.stdout.write(`${r.summary}${r.dsr ? `  [DSR ${r.dsr.addr}:${r.dsr.port}]` : ''}\n`);
        }
      },
      status() {},
    });
    const onSig = (): void => c.stop('interrupted');
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    const timer = flags.seconds
      ? setTimeout(() => c.stop(`--seconds ${flags.seconds} elapsed`), flags.seconds * 1000)
      : undefined;
    await c.done;
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    const info = c.info();
    if (flags.json) printJson({ ...info, path });
    else {
      const k = info.kernel
        ? `; kernel: ${info.kernel.received} received by filter, ${info.kernel.dropped} dropped`
        : '';
      process.stderr.write(`${info.packets} packet(s) written to ${path}${k}; ${info.exit?.reason ?? ''}\n`);
    }
    return info.state === 'failed' ? 1 : 0;
  } catch (e) {
    if (e instanceof CaptureError) throw new UsageError(e.message);
    throw e;
  }
});

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** Opens `path` for the capture: a new file, or with `force` an existing regular file truncated. */
async function openOutput(path: string, force: boolean): Promise<FileHandle> {
  const dir = dirname(path);
  const ds = await stat(dir).catch(() => undefined);
  if (!ds?.isDirectory()) throw new CaptureError(`cannot write ${path}: ${dir} is not a directory`);
  try {
    const fh = await open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | (force ? 0 : O_EXCL), 0o600);
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new CaptureError(`cannot write ${path}: it is not a regular file`);
    }
    // Truncated only once it is known to be a regular file.
    if (force) await fh.truncate(0);
    return fh;
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CaptureError(`${path} exists; pass --force to overwrite it`);
    if (code === 'ELOOP') throw new CaptureError(`${path} is a symlink; refusing to write through it`);
    throw new CaptureError(`cannot write ${path}: ${code ?? String(e)}`);
  }
}

/**
 * The capture the manager would start, written to `path` instead of the captures folder: the target and
 * filter are checked before the file is touched, and a file this run created is removed if tcpdump fails.
 */
async function captureToPath(req: CaptureStartReq, path: string, force: boolean): Promise<Capture> {
  const t = await resolveTarget(req.netns, req.iface);
  await checkFilter(t, req.filter);
  const existed = force && (await stat(path).catch(() => undefined)) !== undefined;
  const fh = await openOutput(path, force);
  // The path as the file name: it is no captures-folder name, so no notes sidecar is read or written.
  const c = new Capture(req.netns, req.iface, req.filter, path, dirname(path));
  try {
    await c.startTcpdump(inNetns(t.ns.target, 'tcpdump', tcpdumpArgs(req)), fh, () => namespaceGone(t));
  } catch (e) {
    await fh.close().catch(() => undefined);
    if (!existed) await unlink(path).catch(() => undefined);
    throw e;
  }
  return c;
}
