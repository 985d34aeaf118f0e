'use client';
// The capture form's state: namespace and interface (defaulting to the first target, then a busy veth),
// and the pcap filter checked as it is typed (tcpdump -d in that namespace, debounced).
import { useEffect, useMemo, useState } from 'react';
import type { CaptureTarget } from '../../../server/protocol/capture';
import type { CaptureView } from './use-capture';

export interface FilterCheckState {
  readonly bytecode?: string;
  readonly error?: string;
  readonly pending?: boolean;
}

export interface CaptureForm {
  readonly netns: string;
  readonly iface: string;
  readonly filter: string;
  readonly check: FilterCheckState;
  readonly ifaces: CaptureTarget['ifaces'];
  setNetns(n: string): void;
  setIface(i: string): void;
  setFilter(f: string): void;
}

export function useCaptureForm(cap: CaptureView, initial?: { netns: string; iface: string }): CaptureForm {
  const { checkFilter, targets } = cap;
  const [netns, setNetns] = useState(initial?.netns ?? '');
  const [iface, setIface] = useState(initial?.iface ?? '');
  const [filter, setFilter] = useState('');
  const [check, setCheck] = useState<FilterCheckState>({});

  // Default to the first namespace/interface once targets arrive.
  useEffect(() => {
    if (!netns && targets[0]) setNetns(targets[0].netns);
  }, [targets, netns]);
  const ifaces = useMemo(() => targets.find((t) => t.netns === netns)?.ifaces ?? [], [targets, netns]);
  useEffect(() => {
    // Prefer an interface that is up and carries traffic: a veth, then anything but loopback.
    if (ifaces.length && !ifaces.some((i) => i.name === iface)) {
      const pick =
        ifaces.find((i) => i.up && i.kind === 'veth') ?? ifaces.find((i) => i.up && i.name !== 'lo') ?? ifaces[0];
      setIface(pick?.name ?? '');
    }
  }, [ifaces, iface]);

  // Filter check, debounced: tcpdump -d in the chosen namespace on the chosen interface.
  useEffect(() => {
    if (!netns || !iface) return;
    setCheck((c) => ({ ...c, pending: true }));
    // Answers can arrive out of order (typing fast, switching interface): only the latest counts.
    let stale = false;
    const t = setTimeout(() => {
      void checkFilter(netns, iface, filter).then((r) => {
        if (!stale) setCheck(r.ok ? { bytecode: r.value.bytecode } : { error: r.error });
      });
    }, 350);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [checkFilter, netns, iface, filter]);

  return { netns, iface, filter, check, ifaces, setNetns, setIface, setFilter };
}
