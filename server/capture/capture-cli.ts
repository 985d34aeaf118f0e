// `packet-journey capture --netns <ns> --iface <if> [--filter expr] [--count N] -w out.pcapng`
import { defineCommand, flagHelp, parseRequest, printJson, UsageError, type Command } from '../cli-args';
import { CaptureStartReq } from '../protocol/capture';
import { CaptureManager } from './manager';
import { captureDir, capturePath } from './store';
import { CaptureError, checkFilter, resolveTarget } from './targets';

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
    help: 'file name in the captures folder (PJ_CAPTURE_DIR, default ./captures)',
    metavar: 'NAME.pcapng',
  },
  'print-bpf': { type: 'boolean', help: 'print the filter as cBPF bytecode (tcpdump -d) and exit' },
  json: { type: 'boolean', help: 'print packet rows as NDJSON and a JSON summary at the end' },
} as const;

const usage = `usage: packet-journey capture --netns <ns> --iface <if> [--filter "<expr>"] [--count N] -w out.pcapng

Runs tcpdump inside the namespace and streams its packets through the decoder into an annotated pcapng
(one interface block named <if>@<ns>, DSR decodes as packet comments). Ctrl-C stops cleanly.

${flagHelp(specs)}`;

export const command: Command = defineCommand(specs, usage, async ({ flags, positionals }) => {
  if (positionals.length)
    throw new UsageError(`unexpected argument "${positionals[0]}" (quote the filter and pass it with --filter)`);
  const req = parseRequest(
    CaptureStartReq,
    {
      netns: flags.netns,
      iface: flags.iface,
      filter: flags.filter,
      count: flags.count,
      name: flags.write || undefined,
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
    if (!req.name) throw new UsageError('-w NAME.pcapng is required (or --print-bpf)');
    const dir = captureDir();
    const path = capturePath(req.name, dir);
    const mgr = new CaptureManager();
    const c = await mgr.start({ ...req, save: true, dir });
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
