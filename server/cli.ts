// `packet-journey <verb>`: the same modules the web UI uses, headless, JSON out with --json.
import { UsageError, type Command } from './cli-args';

// Verbs load lazily so `lab status` does not pay for the decoder or Next.js.
const verbs: Record<string, { summary: string; load: () => Promise<Command> }> = {
  lab: {
    summary: 'bring the embedded lab up or down, or show its status',
    load: async () => (await import('./lab/cli')).command,
  },
  topology: {
    summary: 'discover namespaces, veths, bridges, FDB, ARP and routes',
    load: async () => (await import('./topology/cli')).command,
  },
  follow: {
    summary: 'send a packet and follow it hop by hop through the kernel',
    load: async () => (await import('./tracer/cli')).command,
  },
  trace: {
    summary: 'print the journey of every packet matching a pcap-filter expression (NDJSON)',
    load: async () => (await import('./tracer/cli')).traceCommand,
  },
  decode: {
    summary: 'decode a pcap/pcapng file (DSR options included)',
    load: async () => (await import('./capture/decode-cli')).command,
  },
  capture: {
    summary: 'capture on an interface in any namespace to annotated pcapng',
    load: async () => (await import('./capture/capture-cli')).command,
  },
  serve: {
    summary: 'serve the web UI and socket.io on one port',
    load: async () => (await import('./serve-cli')).command,
  },
};

function usage(): string {
  const w = Math.max(...Object.keys(verbs).map((k) => k.length)) + 2;
  return [
    'usage: packet-journey <verb> [options]',
    '',
    'verbs:',
    ...Object.entries(verbs).map(([k, v]) => `  ${k.padEnd(w)}${v.summary}`),
    '',
    'Run `packet-journey <verb> --help` for the options of a verb.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage() + '\n');
    return verb === undefined ? 2 : 0;
  }
  const entry = verbs[verb];
  if (!entry) {
    process.stderr.write(`packet-journey: unknown verb "${verb}" (try --help)\n`);
    return 2;
  }
  try {
    const cmd = await entry.load();
    return await cmd.run(rest);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`packet-journey ${verb}: ${msg.split('\n')[0]}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

// Run when executed directly (tsx server/cli.ts ...), not when imported by tests.
if (process.argv[1] && /server\/cli\.ts$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`packet-journey: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
