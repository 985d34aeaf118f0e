// The blocklist's one map, shared by every blocklist attachment (like seed 003's oxdpus, but edited in
// place instead of reloading). It is created here, before any program uses it, pinned where students look
// (`bpftool map dump pinned /sys/fs/bpf/packet-journey/blocklist`) and again by name in tc's globals, where
// tc's and ip's loaders reuse it for a map declared with LIBBPF_PIN_BY_NAME. Both pins are recorded in the
// state before they exist, so `lab down` removes them.
import { mkdir } from 'node:fs/promises';
import { isIpv4 } from '../../protocol/vocab';
import { z } from 'zod';
import { exec, execOk } from '../../sys/exec';
import { LOADER_DIRS, PIN_ROOT, TC_GLOBALS, exists, recordAbsent } from '../bpf';
import { LabError } from '../errors';
import { writeState, type LabState } from '../state';

export const BLOCKLIST_PIN = `${PIN_ROOT}/blocklist`;
export const BLOCKLIST_TC_PIN = `${TC_GLOBALS}/pj_blocklist`;

/** Records every bpffs path iproute2's loader would create that isn't there yet; call before tc/ip loads. */
export async function recordIprouteDirs(state: LabState): Promise<void> {
  if (await recordAbsent(state.owned, LOADER_DIRS)) await writeState(state);
}

/** Creates and pins the map unless both pins are there (recording them first). */
export async function ensureBlocklistMap(state: LabState): Promise<void> {
  await recordIprouteDirs(state);
  const [main, tcPin] = [await exists(BLOCKLIST_PIN), await exists(BLOCKLIST_TC_PIN)];
  if (main && tcPin) return;
  const record = [...((await exists(PIN_ROOT)) ? [] : [PIN_ROOT]), BLOCKLIST_PIN, BLOCKLIST_TC_PIN];
  for (const p of record) if (!state.owned.pins.includes(p)) state.owned.pins.push(p);
  await writeState(state);
  await mkdir(PIN_ROOT, { recursive: true });
  await mkdir(TC_GLOBALS, { recursive: true });
  if (!main && !tcPin)
    // Key: IPv4 source in network order; value: packets dropped (u64). Same shape as the object's map,
    // which libbpf checks before reusing it.
    await execOk([
      ...['bpftool', 'map', 'create', BLOCKLIST_PIN, 'type', 'hash'],
      ...['key', '4', 'value', '8', 'entries', '1024', 'name', 'pj_blocklist'],
    ]);
  if (!main && tcPin) await execOk(['bpftool', 'map', 'pin', 'pinned', BLOCKLIST_TC_PIN, BLOCKLIST_PIN]);
  else if (!tcPin) await execOk(['bpftool', 'map', 'pin', 'pinned', BLOCKLIST_PIN, BLOCKLIST_TC_PIN]);
}

export function checkIp(ip: string): string[] {
  if (!isIpv4(ip)) throw new LabError(`"${ip}" is not an IPv4 address (the blocklist matches IPv4 sources)`);
  return ip.split('.');
}

export interface Blocked {
  readonly ip: string;
  readonly drops: number;
}

const Dump = z.array(z.object({ key: z.array(z.string()), value: z.array(z.string()) }));

/** The listed sources and how many packets each has had dropped; empty if the map doesn't exist yet. */
export async function blockedSources(): Promise<Blocked[]> {
  if (!(await exists(BLOCKLIST_PIN))) return [];
  const r = await exec(['bpftool', '--json', 'map', 'dump', 'pinned', BLOCKLIST_PIN]);
  if (r.code !== 0) throw new LabError(`cannot read the blocklist: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  const bytes = (xs: readonly string[]): number[] => xs.map((x) => parseInt(x, 16));
  return Dump.parse(JSON.parse(r.stdout)).map((e) => ({
    ip: bytes(e.key).join('.'),
    // Little-endian u64 counter (x86); a double holds any count reachable here.
    drops: bytes(e.value).reduceRight((acc, b) => acc * 256 + b, 0),
  }));
}

/** Lists a source; already listed is a no-op that keeps its counter. */
export async function block(state: LabState, ip: string): Promise<void> {
  const key = checkIp(ip);
  await ensureBlocklistMap(state);
  if ((await blockedSources()).some((b) => b.ip === ip)) return;
  await execOk([
    ...['bpftool', 'map', 'update', 'pinned', BLOCKLIST_PIN, 'key', ...key],
    ...['value', '0', '0', '0', '0', '0', '0', '0', '0', 'noexist'],
  ]);
}

export async function unblock(ip: string): Promise<void> {
  const key = checkIp(ip);
  if (!(await blockedSources()).some((b) => b.ip === ip)) throw new LabError(`${ip} is not in the blocklist`);
  await execOk(['bpftool', 'map', 'delete', 'pinned', BLOCKLIST_PIN, 'key', ...key]);
}
