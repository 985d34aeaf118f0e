// Attaching and detaching with the kernel's own tools (tc for clsact hooks, ip for XDP), and reading back
// what is really attached. tc and ip load the object with libbpf, so a refused program's verifier log is
// on their stderr: it is kept (ProgLoadError, and a file next to the lab state) and summarised in one line.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { ProgHook } from '../../protocol/lab';
import type { ExecResult } from '../../sys/exec';
import { LabError } from '../errors';
import { STATE_FILE } from '../state';
import { run, type Where } from './where';

/** Our filters sit at pref 1 with this handle ("seed 003"): a new filter in an existing pref runs before
 * the ones already there, so a scenario's program at pref 1 still sees only what ours lets through. */
export const TC_PREF = '1';
export const TC_HANDLE = '0x3003';

export const VERIFIER_LOG = `${dirname(STATE_FILE)}/verifier.log`;

/** The kernel refused to load a program; `verifierLog` is the verifier's full output. */
export class ProgLoadError extends LabError {
  constructor(
    message: string,
    readonly verifierLog: string,
  ) {
    super(message);
  }
}

export interface Attached {
  readonly id: number;
  readonly mode: string;
}

const TcFilter = z.object({
  pref: z.number().optional(),
  options: z
    .object({
      handle: z.string().optional(),
      prog: z.object({ id: z.number().int(), name: z.string().optional() }).optional(),
    })
    .optional(),
});

/** `tc -j filter show dev X ingress|egress`, as (pref, handle, program id). */
export async function tcFilters(w: Where, dir: 'ingress' | 'egress') {
  const r = await run(w.netns, 'tc', ['-j', 'filter', 'show', 'dev', w.iface, dir]);
  if (r.code !== 0) return undefined;
  const parsed = z.array(TcFilter).safeParse(JSON.parse(r.stdout || '[]'));
  if (!parsed.success) return undefined;
  return parsed.data.flatMap((f) =>
    f.options?.handle ? [{ pref: f.pref, handle: f.options.handle, progId: f.options.prog?.id }] : [],
  );
}

const XdpLink = z.object({
  xdp: z.object({ mode: z.number().int(), prog: z.object({ id: z.number().int() }).optional() }).optional(),
});
/** iproute2's XDP modes: 1 native (driver), 2 generic (skb), 3 offloaded. */
const XDP_MODES: Readonly<Record<number, string>> = { 1: 'driver', 2: 'generic', 3: 'offload' };

/** The XDP program on a device, or null if none, or undefined if the device can't be read. */
export async function xdpOf(w: Where): Promise<Attached | null | undefined> {
  const r = await run(w.netns, 'ip', ['-j', 'link', 'show', 'dev', w.iface]);
  if (r.code !== 0) return undefined;
  const link = z.array(XdpLink).safeParse(JSON.parse(r.stdout || '[]')).data?.[0];
  if (!link) return undefined;
  const x = link.xdp;
  return x?.prog ? { id: x.prog.id, mode: XDP_MODES[x.mode] ?? `mode ${x.mode}` } : null;
}

/** What is attached at one hook: our tc filter's program, or the device's XDP program. */
export async function attachedAt(w: Where, hook: ProgHook): Promise<Attached | null | undefined> {
  if (hook === 'xdp') return xdpOf(w);
  const filters = await tcFilters(w, hook === 'tc-ingress' ? 'ingress' : 'egress');
  if (!filters) return undefined;
  const f = filters.find((x) => String(x.pref) === TC_PREF && x.handle === TC_HANDLE);
  return f?.progId !== undefined ? { id: f.progId, mode: 'direct-action' } : null;
}

/** The verifier's output inside libbpf's BEGIN/END markers, if the failure was a refused load. */
export function verifierLogOf(stderr: string): string | undefined {
  const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)\n?-- END PROG LOAD LOG --/.exec(stderr);
  return m?.[1]?.trim();
}

/** The verifier's verdict: the message lines (not instructions or source) just before its summary. */
export function verdictOf(lines: readonly string[]): string {
  const body = lines.filter((l) => !/^processed \d+ insns|^verification time|^stack depth/.test(l));
  const tail: string[] = [];
  for (const l of [...body].reverse()) {
    if (/^\d+: |^;/.test(l) || tail.length === 2) break;
    tail.unshift(l.trim());
  }
  return tail.join(': ');
}

/** One line for a failed tc/ip command: the verifier's verdict when it refused the program. */
async function refusal(what: string, r: ExecResult): Promise<LabError> {
  const log = verifierLogOf(r.stderr);
  if (log !== undefined) {
    const lines = log.split('\n').filter((l) => l.trim() !== '');
    const verdict = verdictOf(lines);
    await mkdir(dirname(VERIFIER_LOG), { recursive: true });
    await writeFile(VERIFIER_LOG, log + '\n');
    return new ProgLoadError(
      `the verifier refused ${what}: ${verdict || 'no reason given'} (full log, ${lines.length} lines: ${VERIFIER_LOG}, or --verbose)`,
      log,
    );
  }
  const why = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^We have an error talking to the kernel/.test(l))
    .pop();
  return new LabError(`the kernel refused ${what}: ${why ?? `exit ${r.code}`}`);
}

async function hasClsact(w: Where): Promise<boolean> {
  const r = await run(w.netns, 'tc', ['-j', 'qdisc', 'show', 'dev', w.iface]);
  return r.code === 0 && /"kind":\s*"clsact"/.test(r.stdout);
}

/** Loads `section` of `object` as a direct-action filter; on failure leaves the device as it was. */
export async function tcAttach(w: Where, dir: 'ingress' | 'egress', object: string, section: string, what: string) {
  const addedQdisc = !(await hasClsact(w));
  if (addedQdisc) {
    const q = await run(w.netns, 'tc', ['qdisc', 'add', 'dev', w.iface, 'clsact']);
    if (q.code !== 0) throw await refusal(`a clsact qdisc on ${w.iface}`, q);
  }
  const r = await run(w.netns, 'tc', [
    ...['filter', 'add', 'dev', w.iface, dir, 'pref', TC_PREF, 'handle', TC_HANDLE],
    ...['bpf', 'da', 'obj', object, 'sec', section],
  ]);
  if (r.code !== 0) {
    if (addedQdisc) await run(w.netns, 'tc', ['qdisc', 'del', 'dev', w.iface, 'clsact']);
    throw await refusal(what, r);
  }
  const a = await attachedAt(w, dir === 'ingress' ? 'tc-ingress' : 'tc-egress');
  if (!a) throw new LabError(`tc attached ${what} but does not show its program id`);
  return a;
}

export async function tcDetach(w: Where, dir: 'ingress' | 'egress'): Promise<void> {
  const r = await run(w.netns, 'tc', [
    'filter',
    'del',
    'dev',
    w.iface,
    dir,
    'pref',
    TC_PREF,
    'handle',
    TC_HANDLE,
    'bpf',
  ]);
  if (r.code !== 0) throw await refusal(`removing the filter on ${w.iface} ${dir}`, r);
  // The clsact qdisc goes once no filter is left on it (a scenario's qdisc always holds its own filters).
  const [i, e] = [await tcFilters(w, 'ingress'), await tcFilters(w, 'egress')];
  if (i?.length === 0 && e?.length === 0) await run(w.netns, 'tc', ['qdisc', 'del', 'dev', w.iface, 'clsact']);
}

/** Native XDP where the driver has it (veth does), else generic; a verifier refusal is not retried. */
export async function xdpAttach(w: Where, object: string, section: string, what: string): Promise<Attached> {
  let r: ExecResult | undefined;
  for (const mode of ['xdpdrv', 'xdpgeneric']) {
    r = await run(w.netns, 'ip', ['link', 'set', 'dev', w.iface, mode, 'obj', object, 'sec', section]);
    if (r.code === 0 || verifierLogOf(r.stderr) !== undefined) break;
  }
  if (!r || r.code !== 0) throw await refusal(what, r ?? { code: 1, stdout: '', stderr: '' });
  const a = await xdpOf(w);
  if (!a) throw new LabError(`ip attached ${what} but does not show its program id`);
  return a;
}

export async function xdpDetach(w: Where, mode: string): Promise<void> {
  const flag = mode === 'driver' ? 'xdpdrv' : 'xdpgeneric';
  const r = await run(w.netns, 'ip', ['link', 'set', 'dev', w.iface, flag, 'off']);
  if (r.code !== 0) throw await refusal(`removing XDP from ${w.iface}`, r);
}
