// `lab prog …` (seed 003): attach the teaching programs to lab interfaces, detach them, edit the blocklist,
// and list what is attached. The socket's `lab:prog` and the CLI both come through `labProg`. Attachments
// are recorded in the lab state's `programs`; `listPrograms` checks each against the kernel.
import { msg } from '../../protocol/i18n/msg';
import { access } from 'node:fs/promises';
import type { LabProgAction, LabProgram, ProgHook, TeachingProgram } from '../../protocol/lab';
import { bpftoolJson } from '../bpf';
import { LabError } from '../errors';
import { readState, writeState, type LabState } from '../state';
import { block, ensureBlocklistMap, recordIprouteDirs, unblock } from './blocklist';
import { isTcHook, objectPath, sectionFor } from './catalog';
import { attachedAt, tcAttach, tcDetach, xdpAttach, xdpDetach } from './kernel';
import { describe, resolveWhere, targetOf, type Where } from './where';

export { blockedSources } from './blocklist';
export { ProgLoadError } from './kernel';

/** The lab state with `programs` reduced to what the kernel still shows (not yet written back). */
async function labState(): Promise<LabState> {
  if (process.getuid?.() !== 0) throw new LabError(msg('err.lab.progRoot'));
  const state = await readState();
  if (!state) throw new LabError(msg('err.lab.notUp'));
  state.programs = await livePrograms(state.programs);
  return state;
}

const readable = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );
const dirOf = (hook: 'tc-ingress' | 'tc-egress') => (hook === 'tc-ingress' ? 'ingress' : 'egress');
const sameHook = (p: LabProgram, netns: string, iface: string, hook: ProgHook): boolean =>
  p.netns === netns && p.iface === iface && p.hook === hook;

export async function labProg(action: LabProgAction): Promise<LabProgram[]> {
  const state = await labState();
  switch (action.action) {
    case 'attach':
      await attach(state, action.program, action.netns, action.iface, action.hook);
      break;
    case 'detach':
      await detach(state, action.netns, action.iface, action.hook);
      break;
    case 'block':
      await block(state, action.ip);
      break;
    case 'unblock':
      await unblock(action.ip);
      break;
  }
  return listPrograms();
}

async function attach(
  state: LabState,
  program: TeachingProgram,
  netns: string,
  iface: string,
  hook: ProgHook,
): Promise<void> {
  const { section, name } = sectionFor(program, hook);
  const obj = objectPath(program);
  if (!(await readable(obj))) throw new LabError(`${obj} is missing; build the probes first: make -C probes`);
  const w = await resolveWhere(state, netns, iface);
  // Refuse rather than replace: a student should see what is there and detach it on purpose.
  const mine = state.programs.find((p) => sameHook(p, netns, iface, hook));
  if (mine)
    throw new LabError(
      `${describe(mine)} already has ${mine.program} (id ${mine.id}); detach it first: lab prog detach --netns ${netns} --iface ${iface} --hook ${hook}`,
    );
  const there = await attachedAt(w, hook);
  if (there)
    throw new LabError(
      hook === 'xdp'
        ? `${netns}/${iface} already has an XDP program (id ${there.id}) that is not a teaching program; leaving it alone`
        : `${netns}/${iface} ${hook} already has a filter at our pref/handle (program ${there.id}) that the lab did not record; leaving it alone`,
    );
  await recordIprouteDirs(state);
  if (program === 'blocklist') await ensureBlocklistMap(state);
  const what = `${program} (${name}) on ${describe({ netns, iface, hook })}`;
  const a = isTcHook(hook)
    ? await tcAttach(w, dirOf(hook), obj, section, what)
    : await xdpAttach(w, obj, section, what);
  const info = (await bpftoolJson(['prog', 'show', 'id', String(a.id)])) as { name?: string; tag?: string };
  const rec: LabProgram = {
    program,
    id: a.id,
    name: info.name ?? name,
    tag: info.tag ?? '',
    netns,
    iface,
    hook,
    mode: a.mode,
  };
  state.programs = [...state.programs.filter((p) => !sameHook(p, netns, iface, hook)), rec];
  await writeState(state);
}

async function detach(state: LabState, netns: string, iface: string, hook: ProgHook): Promise<void> {
  const w = await resolveWhere(state, netns, iface);
  const mine = state.programs.find((p) => sameHook(p, netns, iface, hook));
  if (!mine) throw new LabError(`no teaching program is attached to ${describe({ netns, iface, hook })}`);
  await detachFrom(w, mine);
  state.programs = state.programs.filter((p) => p !== mine);
  await writeState(state);
}

async function detachFrom(w: Where, p: LabProgram): Promise<void> {
  // Only what is still ours: the id at the hook must be the one recorded.
  const there = await attachedAt(w, p.hook);
  if (!there || there.id !== p.id) return;
  if (p.hook === 'xdp') await xdpDetach(w, p.mode);
  else await tcDetach(w, dirOf(p.hook));
}

/** The records still attached in the kernel, read-only (no state write): safe for a status poll. */
export async function livePrograms(recorded: readonly LabProgram[]): Promise<LabProgram[]> {
  const out: LabProgram[] = [];
  for (const p of recorded) {
    const there = await attachedAt({ netns: p.netns, iface: p.iface, target: targetOf(p.netns) }, p.hook);
    if (there?.id === p.id) out.push(there.mode === p.mode ? p : { ...p, mode: there.mode });
  }
  return out;
}

/** The recorded programs that are still attached where recorded; stale records are dropped. */
export async function listPrograms(): Promise<LabProgram[]> {
  const state = await readState();
  if (!state) return [];
  const now = await livePrograms(state.programs);
  if (JSON.stringify(now) !== JSON.stringify(state.programs)) {
    state.programs = now;
    await writeState(state);
  }
  return now;
}
