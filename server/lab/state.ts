// What the lab owns, recorded so `down` removes exactly that and `up` can refuse what it did not create.
// Lives under /run: it is gone after a reboot, like the namespaces it describes.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { LabProgram, LabScenario } from '../protocol/lab';

export const STATE_FILE = process.env.PJ_LAB_STATE ?? '/run/packet-journey/lab.json';

/** Resources outside the lab's namespaces, which would outlive them: removed one by one on `down`. */
const Owned = z.object({
  /** Paths under bpffs (pinned programs and maps, or directories of them). */
  pins: z.array(z.string()),
  /** cgroup BPF attachments: `bpftool cgroup detach <cgroup> <type> id <id>`. */
  cgroup: z.array(z.object({ cgroup: z.string(), type: z.string(), id: z.number().int() })),
  /** `ip route` arguments of host routes, deleted with `ip route del …`. */
  hostRoutes: z.array(z.array(z.string())),
});
export type Owned = z.infer<typeof Owned>;
export const emptyOwned = (): Owned => ({ pins: [], cgroup: [], hostRoutes: [] });

const LabState = z.object({
  scenario: LabScenario,
  settings: z.record(z.string(), z.string()).default({}),
  createdAt: z.string(),
  /** netns name -> nsfs inode at creation; a same-named namespace with another inode is not ours. */
  namespaces: z.record(z.string(), z.number()),
  /** host link name -> ifindex at creation. */
  hostLinks: z.record(z.string(), z.number()),
  hostRules: z.array(z.array(z.string())),
  /** The lab was built dual-stack (absent: by a version before IPv6, which `up` rebuilds). */
  ipv6: z.boolean().optional(),
  /** The same for ip6tables (dual-stack labs); absent in a state written before them. */
  hostRules6: z.array(z.array(z.string())).optional(),
  echo: z.array(z.object({ pod: z.string(), pid: z.number() })),
  owned: Owned.default(emptyOwned),
  programs: z.array(LabProgram).default([]),
});
export type LabState = z.infer<typeof LabState>;

export async function readState(): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(STATE_FILE, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = LabState.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`lab state ${STATE_FILE} is corrupt; inspect and remove it by hand`);
  return parsed.data;
}

export async function writeState(s: LabState): Promise<void> {
  await mkdir(dirname(STATE_FILE), { recursive: true });
  const tmp = `${STATE_FILE}.tmp`;
  await writeFile(tmp, JSON.stringify(s, null, 2));
  await rename(tmp, STATE_FILE);
}

export async function clearState(): Promise<void> {
  await rm(STATE_FILE, { force: true });
}
