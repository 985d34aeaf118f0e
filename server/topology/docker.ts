// Docker containers via dockerode: the container name is the name a user knows its namespace by.
// No socket: quietly nothing. A socket we cannot use: a warning, never a failed discovery.
import { stat } from 'node:fs/promises';
import { z } from 'zod';

export const DOCKER_SOCKET = '/var/run/docker.sock';

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly pid: number;
}

const ListItem = z.object({ Id: z.string(), State: z.string().optional() });
const Inspect = z.object({
  Id: z.string(),
  Name: z.string(),
  Config: z.object({ Image: z.string().optional() }).optional(),
  State: z.object({ Pid: z.number().int(), Running: z.boolean().optional() }),
});

// Inspect answers are cached by id (a restart changes the pid, so the pid is re-checked by the caller).
const cache = new Map<string, ContainerInfo>();

export async function listContainers(
  socketPath = DOCKER_SOCKET,
): Promise<{ containers: ContainerInfo[]; warning?: string }> {
  try {
    const st = await stat(socketPath);
    if (!st.isSocket()) return { containers: [], warning: `Docker: ${socketPath} is not a socket` };
  } catch {
    return { containers: [] };
  }
  // Imported here, not at the top: dockerode and its CommonJS dependencies took ~80 ms to load, which every
  // CLI follow paid before its loader started, Docker or not.
  const { default: Docker } = await import('dockerode');
  const docker = new Docker({ socketPath, timeout: 3000 });
  let list: unknown;
  try {
    list = await docker.listContainers();
  } catch (e) {
    return { containers: [], warning: `Docker socket ${socketPath} is present but unreadable: ${oneLine(e)}` };
  }
  if (!Array.isArray(list)) return { containers: [], warning: 'Docker: unexpected container list' };
  const ids = new Set<string>();
  const out: ContainerInfo[] = [];
  await Promise.all(
    list.map(async (raw) => {
      const item = ListItem.safeParse(raw);
      if (!item.success || (item.data.State !== undefined && item.data.State !== 'running')) return;
      const id = item.data.Id;
      ids.add(id);
      const hit = cache.get(id);
      if (hit && (await pidAlive(hit.pid))) {
        out.push(hit);
        return;
      }
      try {
        const ins = Inspect.safeParse(await docker.getContainer(id).inspect());
        if (!ins.success || ins.data.State.Pid <= 0) return;
        const info: ContainerInfo = {
          id,
          name: ins.data.Name.replace(/^\//, ''),
          image: ins.data.Config?.Image ?? '',
          pid: ins.data.State.Pid,
        };
        cache.set(id, info);
        out.push(info);
      } catch {
        // The container stopped between list and inspect: skip it.
      }
    }),
  );
  for (const id of cache.keys()) if (!ids.has(id)) cache.delete(id);
  return { containers: out };
}

async function pidAlive(pid: number): Promise<boolean> {
  try {
    await stat(`/proc/${pid}/ns/net`);
    return true;
  } catch {
    return false;
  }
}

function oneLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] ?? m;
}
