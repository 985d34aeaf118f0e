// The journey builder on the loader's stdout recorded from the real probe (fixtures/record.ts), no kernel
// needed.
import { describe, expect, it } from 'vitest';
import { fixture, load, meta, namer, RECORDED } from './fixtures/load';
import { buildJourney, classifyEnd, FlowJourney } from './journey';
import type { HopEvent } from './hop-event';
import { parseLoaderLine } from './ndjson';
import { formatTraceLine, parseTraceOutput } from './rules';
import { attachRules } from './follow';

describe('journey builder (recorded fixtures)', () => {
  it('cross-node ping: request and reply walk pod-a, node1, host, node2, pod-c and back', () => {
    const j = buildJourney(load('ping-pod-a-pod-c.ndjson'), meta({ proto: 'icmp' }), namer('lab-names.json'));
    expect(j.delivered).toBe(true);
    expect(j.lanes).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
    const path = j.hops.filter((h) => h.dir !== 'end').map((h) => `${h.netns}/${h.ifname}/${h.dir}`);
    expect(path).toEqual([
      'pod-a/eth0/egress',
      'node1/veth-pod-a/ingress',
      'node1/cni0/ingress',
      'node1/eth0/egress',
      'host/veth-node1/ingress',
      'host/veth-node2/egress',
      'node2/eth0/ingress',
      'node2/cni0/egress',
      'node2/veth-pod-c/egress',
      'pod-c/eth0/ingress',
    ]);
    // The request ends consumed by icmp_rcv in pod-c: an ordinary end, not a drop.
    const end = j.hops[j.hops.length - 1];
    expect(end?.dir).toBe('end');
    expect(end?.netns).toBe('pod-c');
    expect(end?.drop?.isRealDrop).toBe(false);
    expect(j.hops.every((h) => h.icmp?.id === 4242 && h.icmp.type === 8)).toBe(true);
    // TTL drops by one per routing namespace (node1, host bridges do not route, node2).
    expect(j.hops[0]?.ttl).toBe(64);
    expect(j.hops.find((h) => h.netns === 'pod-c')?.ttl).toBe(62);
    const reply = j.reply?.hops ?? [];
    expect([...new Set(reply.map((h) => h.netns))]).toEqual(['pod-c', 'node2', 'host', 'node1', 'pod-a']);
    expect(reply.every((h) => h.icmp?.type === 0)).toBe(true);
    // The echo reply is freed with NO_SOCKET after the raw socket got its copy: told apart from a drop.
    const rend = reply[reply.length - 1];
    expect(rend?.drop).toMatchObject({ reason: 'NO_SOCKET', isRealDrop: false });
    expect(j.hops.some((h) => h.nat)).toBe(false);
    expect(j.hops.find((h) => h.netns === 'node1' && h.ifname === 'eth0')?.verdict).toBe('accept');
  });

  it('TCP to the ClusterIP: DNAT marked on the hop where the address changes, reply un-DNATed', () => {
    const j = buildJourney(
      load('tcp-pod-a-clusterip.ndjson'),
      meta({ proto: 'tcp', clientPort: 40001 }),
      namer('lab-names.json'),
    );
    expect(j.delivered).toBe(true);
    expect(j.hops[0]).toMatchObject({ netns: 'pod-a', dst: '10.96.0.10', dport: 80, tcpFlags: 'SYN' });
    const natHops = j.hops.filter((h) => h.nat);
    expect(natHops).toHaveLength(1);
    const nat = natHops[0]?.nat;
    expect(nat?.kind).toBe('dnat');
    expect(nat?.from).toBe('10.96.0.10:80');
    expect(nat?.to).toMatch(/^10\.244\.2\.[23]:8080$/);
    expect(natHops[0]?.netns).toBe('node1');
    expect(nat?.hook).toBe('PRE_ROUTING');
    const reply = j.reply?.hops ?? [];
    expect(reply[0]?.tcpFlags).toBe('SYN,ACK');
    expect(reply[reply.length - 1]).toMatchObject({ netns: 'pod-a', src: '10.96.0.10', sport: 80 });
    expect(reply.some((h) => h.nat?.kind === 'snat' && h.nat.to === '10.96.0.10:80')).toBe(true);
    // Only the first packet each way: no ACK/FIN of later packets mixed in.
    expect(j.hops.every((h) => h.tcpFlags === 'SYN')).toBe(true);
    expect(reply.every((h) => h.tcpFlags === 'SYN,ACK')).toBe(true);
  });

  it('a connect() a cgroup program rewrote heads the journey, and no hop is a DNAT (sock-lb)', () => {
    const events = load('tcp-pod-a-sock-lb.ndjson');
    const j = buildJourney(events, meta({ proto: 'tcp', clientPort: 40002 }), namer('sock-lb-names.json'));
    expect(j.delivered).toBe(true);
    expect(j.socketRewrite).toEqual({
      call: 'connect',
      from: '10.96.0.10:80',
      to: expect.stringMatching(/^10\.244\.2\.[23]:8080$/),
    });
    // The wire never carries the service address: the first hop already goes to the backend.
    expect(j.hops[0]).toMatchObject({ netns: 'pod-a', dport: 8080, tcpFlags: 'SYN' });
    expect(`${j.hops[0]?.dst}:8080`).toBe(j.socketRewrite?.to);
    expect([...j.hops, ...(j.reply?.hops ?? [])].some((h) => h.nat)).toBe(false);
    // The event is not a sighting: it makes no hop of its own.
    expect(events.filter((e) => e.hook === 'sock_connect')).toHaveLength(1);
    expect(j.hops.some((h) => h.hook === 'sock_connect')).toBe(false);
  });

  it('a FORWARD DROP is a real drop, in the router namespace, attributed to netfilter', () => {
    const names = namer('drop-names.json');
    const events = load('drop-forward.ndjson');
    const target = Number(
      Object.entries(JSON.parse(fixture('drop-names.json')) as Record<string, string>).find(
        ([, v]) => v === 'pjt-trc-b',
      )?.[0],
    );
    const j = buildJourney(events, meta({ proto: 'icmp' }, target), names);
    expect(j.delivered).toBe(false);
    expect(j.reply).toBeUndefined();
    const drop = j.hops.find((h) => h.drop?.isRealDrop);
    expect(drop?.netns).toBe('pjt-trc-r');
    expect(drop?.drop).toMatchObject({ reason: 'NETFILTER_DROP', byNetfilter: true });
    expect(drop?.drop?.where).toMatch(/^(nf_hook_slow|nft_do_chain)/);
    expect(j.hops.some((h) => h.netns === 'pjt-trc-b')).toBe(false);
    expect(
      j.hops.some(
        (h) => h.netns === 'pjt-trc-r' && h.netfilter?.some((n) => n.hook === 'FORWARD' && n.verdict === 'drop'),
      ),
    ).toBe(true);
  });
});

describe('ends of path, loader lines and rule traces', () => {
  it('ended() holds from the last event a journey shows on (the reply freed, or a real drop): a follow stops there', () => {
    const source: Record<string, string> = {
      'lab-names.json': 'pod-a',
      'drop-names.json': 'pjt-trc-a',
      'sock-lb-names.json': 'pod-a',
    };
    let ended = 0;
    for (const r of RECORDED) {
      const names = JSON.parse(fixture(r.names)) as Record<string, string>;
      const from = Number(Object.keys(names).find((k) => names[k] === source[r.names]));
      const events = load(r.file);
      const all = new FlowJourney(r.flow);
      let at = -1;
      events.forEach((e, i) => {
        all.push(e);
        if (at < 0 && all.ended(from)) at = i;
      });
      expect(all.complete(from), r.file).toBe(true);
      if (at < 0) {
        // TCP: the SYN-ACK's free at home is not seen; the follow gives it HOME_GRACE_MS (follow.ts).
        const j = all.build(meta(r.flow), namer(r.names));
        expect(j.proto, r.file).toBe('tcp');
        expect(j.reply?.hops.at(-1), r.file).toMatchObject({ netns: 'pod-a', dir: 'ingress' });
        continue;
      }
      // Stopping at `at` loses nothing: the same journey as from every recorded event.
      const early = new FlowJourney(r.flow);
      for (const e of events.slice(0, at + 1)) early.push(e);
      const nameOf = namer(r.names);
      const j = early.build(meta(r.flow), nameOf);
      expect(j, r.file).toEqual(all.build(meta(r.flow), nameOf));
      // ... and it ends on the free event: the reply's end at home, or the request's real drop.
      const last = (j.reply?.hops ?? j.hops).at(-1);
      expect(last?.dir, r.file).toBe('end');
      if (j.delivered) expect(last?.netns, r.file).toBe(source[r.names]);
      // One event earlier it had not ended yet.
      const before = new FlowJourney(r.flow);
      for (const e of events.slice(0, at)) before.push(e);
      expect(before.ended(from), r.file).toBe(false);
      ended++;
    }
    expect(ended).toBe(3); // both pings, and the FORWARD drop
  });

  it('classifies ends of path', () => {
    const base = load('ping-pod-a-pod-c.ndjson')[0] as HopEvent;
    expect(classifyEnd({ ...base, hook: 'consume_skb' }).isRealDrop).toBe(false);
    expect(classifyEnd({ ...base, hook: 'kfree_skb', reason: 'NO_SOCKET', proto: 1 }).isRealDrop).toBe(false);
    expect(classifyEnd({ ...base, hook: 'kfree_skb', reason: 'NO_SOCKET', proto: 6 }).isRealDrop).toBe(true);
    expect(classifyEnd({ ...base, hook: 'kfree_skb', reason: 'NETFILTER_DROP' }).isRealDrop).toBe(true);
  });

  it('counts bad loader lines instead of crashing', () => {
    expect(parseLoaderLine('not json')).toBeUndefined();
    expect(parseLoaderLine('{"type":"hop","ts_ns":"x"}')).toBeUndefined();
    expect(parseLoaderLine('{"type":"stats","emitted":3,"lost":1,"nf_netns":0}')).toEqual({
      type: 'stats',
      emitted: 3,
      lost: 1,
    });
  });

  it('parses xtables-monitor --trace output and attaches rules by IP id', () => {
    const text = [
      'PACKET: 2 2d76787a IN=veth-pod-a OUT= SRC=10.244.1.2 DST=10.96.0.10 LEN=60 TOS=0x0 TTL=63 ID=777 DF SPORT=40001 DPORT=80 SYN',
      ' TRACE: 2 2d76787a raw:PREROUTING:rule:0x2:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m comment --comment pj-trace-f1 -j TRACE',
      ' TRACE: 2 2d76787a nat:PREROUTING:rule:0x5:JUMP:KUBE-SERVICES  -4 -t nat -A PREROUTING -j KUBE-SERVICES',
      ' TRACE: 2 2d76787a nat:KUBE-SEP-X:rule:0x9:ACCEPT  -4 -t nat -A KUBE-SEP-X -p tcp -j DNAT --to-destination 10.244.2.2:8080',
      ' TRACE: 2 2d76787a filter:FORWARD:policy:DROP ',
    ].join('\n');
    const pk = parseTraceOutput(text);
    expect(pk).toHaveLength(1);
    expect(pk[0]?.ipId).toBe(777);
    expect(pk[0]?.lines).toEqual([
      'nat PREROUTING -j KUBE-SERVICES',
      'nat KUBE-SEP-X -p tcp -j DNAT --to-destination 10.244.2.2:8080',
      'filter FORWARD policy DROP',
    ]);
    expect(formatTraceLine('raw:OUTPUT:policy:ACCEPT ')).toBeUndefined();
    const j = buildJourney(
      load('tcp-pod-a-clusterip.ndjson'),
      meta({ proto: 'tcp', clientPort: 40001 }),
      namer('lab-names.json'),
    );
    const node1 = j.hops.find((h) => h.netns === 'node1');
    const withRules = attachRules(j, new Map([[node1?.netnsInode ?? 0, [{ ...pk[0]!, ipId: node1?.ipId ?? 0 }]]]));
    expect(withRules.hops.filter((h) => h.rules).map((h) => h.netns)).toEqual(['node1']);
  });
});

describe('packed batches (recorded)', () => {
  it('decode with the ready record tables, and not without them', () => {
    const lines = fixture('ping-pod-a-pod-c.ndjson').split('\n').filter(Boolean);
    const ready = parseLoaderLine(lines[0] as string);
    expect(ready?.type).toBe('ready');
    const tables = ready?.type === 'ready' ? ready.tables : undefined;
    expect(tables?.reasons[12]).toBe('NETFILTER_DROP');
    const hops: HopEvent[] = [];
    for (const l of lines.slice(1)) {
      const r = parseLoaderLine(l, tables);
      if (r?.type !== 'hops') throw new Error('bad batch line');
      hops.push(...r.hops);
    }
    expect(parseLoaderLine(lines[1] as string)).toBeUndefined(); // no tables, no decoding
    const j = buildJourney(hops, meta({ proto: 'icmp' }), namer('lab-names.json'));
    expect(j.delivered).toBe(true);
    expect(j.lanes).toEqual(['pod-a', 'node1', 'host', 'node2', 'pod-c']);
    expect(j.hops[0]).toMatchObject({
      src: '10.244.1.2',
      dst: '10.244.2.2',
      proto: 'icmp',
      icmp: { id: 4242, type: 8 },
    });
    expect(j.hops[0]?.skb).toMatch(/^ffff[0-9a-f]{12}$/);
    expect(j.hops[0]?.srcMac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(j.reply?.hops[j.reply.hops.length - 1]?.drop).toMatchObject({ reason: 'NO_SOCKET', isRealDrop: false });
  });

  it('rejects a torn batch (data shorter or longer than n events)', () => {
    const lines = fixture('ping-pod-a-pod-c.ndjson').split('\n').filter(Boolean);
    const ready = parseLoaderLine(lines[0] as string);
    const tables = ready?.type === 'ready' ? ready.tables : undefined;
    const line = lines[1] as string;
    expect(parseLoaderLine(line, tables)?.type).toBe('hops');
    expect(
      parseLoaderLine(
        line.replace(/"n":(\d+)/, (_m, n: string) => `"n":${Number(n) + 1}`),
        tables,
      ),
    ).toBeUndefined();
    expect(parseLoaderLine(line.replace(/"data":"[A-Za-z0-9+/]{8}/, '"data":"'), tables)).toBeUndefined();
    // A hook code outside the ready record's table.
    const b = Buffer.from(/"data":"([^"]*)"/.exec(line)?.[1] ?? '', 'base64');
    b[tables?.layout.hook ?? 0] = 200;
    expect(parseLoaderLine(line.replace(/"data":"[^"]*"/, `"data":"${b.toString('base64')}"`), tables)).toBeUndefined();
  });

  it('refuses a loader whose event layout differs from what the server reads', () => {
    const ready = fixture('ping-pod-a-pod-c.ndjson').split('\n')[0] as string;
    const r = parseLoaderLine(ready.replace('"ttl":[', '"ttl":[0,2],"was_ttl":['));
    expect(r).toMatchObject({ type: 'ready', layoutError: expect.stringMatching(/field ttl is 2 bytes/) });
    expect(r?.type === 'ready' && r.tables).toBeFalsy();
    const gone = parseLoaderLine(ready.replace('"skb":[', '"skb_gone":['));
    expect(gone).toMatchObject({ layoutError: expect.stringMatching(/no field skb/) });
    const renamed = parseLoaderLine(ready.replace('"nf_nat"', '"nf_nat_v2"'));
    expect(renamed).toMatchObject({ layoutError: expect.stringMatching(/probe names "nf_nat_v2", unknown here/) });
  });
});
