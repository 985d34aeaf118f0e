// Generated from probes/event.h by `make -C probes` (probes/event-ts.c): edit event.h, not this file.
// The probe's vocabulary, shared by server and app (isomorphic: no imports). The loader's ready
// record maps the event's codes to these names, and the server refuses a name missing here.

/** Where the probe saw an event (enum pj_hook, in code order). */
export const HOOK_NAMES = [
  'net_dev_queue',
  'netif_receive_skb',
  'netif_rx',
  'napi_gro_receive_entry',
  'kfree_skb',
  'consume_skb',
  'nf_nat',
  'nf_pre_filter',
  'nf_post_filter',
  'sock_connect',
] as const;

/** The hooks that are netfilter links: their events carry the netfilter hook they ran at. */
export const NETFILTER_LINK_HOOKS = ['nf_nat', 'nf_pre_filter', 'nf_post_filter'] as const;

/** A device event's direction (enum pj_dir). */
export const DIR_NAMES = ['none', 'egress', 'ingress'] as const;

/** Netfilter hooks, by NF_INET_* value (enum pj_nf_hook). */
export const NF_HOOK_NAMES = ['PRE_ROUTING', 'LOCAL_IN', 'FORWARD', 'LOCAL_OUT', 'POST_ROUTING'] as const;
