// Generated from probes/event.h by `make -C probes` (probes/event-ts.c): edit event.h, not this file.
// server/tracer/probe-event.test.ts fails when this differs from what event.h generates.

/** The fields of struct pj_event and their widths in bytes, in struct order: the loader's ready record
 * must declare each of them at this width, or the server refuses it (ndjson.ts). */
export const EVENT_FIELDS = {
  ts_ns: 8,
  skb: 8,
  location: 8,
  netns: 4,
  ifindex: 4,
  mask: 4,
  reason: 4,
  saddr: 4,
  daddr: 4,
  sport: 2,
  dport: 2,
  ip_id: 2,
  tot_len: 2,
  icmp_id: 2,
  icmp_seq: 2,
  hook: 1,
  dir: 1,
  proto: 1,
  ttl: 1,
  ip_opts: 1,
  tcp_flags: 1,
  icmp_type: 1,
  icmp_code: 1,
  nf_hook: 1,
  has_ip: 1,
  cpu: 1,
  pad: 1,
  smac: 6,
  dmac: 6,
  raw: 8,
  ifname: 16,
} as const;
