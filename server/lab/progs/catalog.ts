// The teaching programs of seed 003: which object and section each loads from, where it may attach, and
// the name `bpftool prog` shows for it. The objects are built from probes/lab/*.bpf.c by `make -C probes`.
import { join } from 'node:path';
import type { ProgHook, TeachingProgram } from '../../protocol/lab';
import { labObject } from '../bpf';
import { LabError } from '../errors';

export interface ProgramDef {
  readonly object: string;
  /** ELF section per kind of hook, and the kernel program name loaded from it. */
  readonly tc?: { readonly section: string; readonly name: string };
  readonly xdp?: { readonly section: string; readonly name: string };
  /** Hook used when the CLI is given none (seed 003 attaches drop-all on ingress). */
  readonly defaultHook: ProgHook;
  readonly summary: string;
}

export const PROGRAMS: Readonly<Record<TeachingProgram, ProgramDef>> = {
  'drop-all': {
    object: 'drop-all',
    tc: { section: 'tc', name: 'drop_all' },
    defaultHook: 'tc-ingress',
    summary: 'tc program returning TC_ACT_SHOT: drops every packet (tc-ingress or tc-egress)',
  },
  'xdp-drop': {
    object: 'xdp-drop',
    xdp: { section: 'xdp', name: 'xdp_drop' },
    defaultHook: 'xdp',
    summary: 'XDP program returning XDP_DROP: drops every received frame (xdp)',
  },
  blocklist: {
    object: 'blocklist',
    tc: { section: 'tc', name: 'blocklist_tc' },
    xdp: { section: 'xdp', name: 'blocklist' },
    defaultHook: 'xdp',
    summary: 'drops IPv4 packets from the sources listed by `lab prog block --ip A` (xdp, tc-ingress or tc-egress)',
  },
};

export const isTcHook = (h: ProgHook): h is 'tc-ingress' | 'tc-egress' => h !== 'xdp';

/** The section to load for `program` on `hook`, or a one-line refusal naming the hooks it supports. */
export function sectionFor(program: TeachingProgram, hook: ProgHook): { section: string; name: string } {
  const def = PROGRAMS[program];
  const s = isTcHook(hook) ? def.tc : def.xdp;
  if (s) return s;
  const hooks = [...(def.tc ? ['tc-ingress', 'tc-egress'] : []), ...(def.xdp ? ['xdp'] : [])];
  const alt = isTcHook(hook) ? 'for tc use drop-all or blocklist' : 'for XDP use xdp-drop or blocklist';
  throw new LabError(`${program} cannot attach to ${hook}: it supports ${hooks.join(', ')} (${alt})`);
}

/** The object file; PJ_LAB_PROG_DIR points elsewhere (the tests use it to load a broken object on purpose). */
export function objectPath(program: TeachingProgram): string {
  const dir = process.env.PJ_LAB_PROG_DIR;
  const name = PROGRAMS[program].object;
  return dir ? join(dir, `${name}.bpf.o`) : labObject(name);
}
