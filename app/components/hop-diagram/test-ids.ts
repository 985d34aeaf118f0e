// data-testid values shared by the hop-diagram components and e2e/follow.spec.ts.
import { nsDomId } from '../../../server/protocol/topology';

export type PathKind = 'request' | 'reply';

export const hopIds = {
  panel: 'follow-panel',
  modeFollow: 'follow-mode-follow',
  modeLive: 'follow-mode-live',
  /** Source chooser: one button per namespace. */
  fromNs: (name: string) => `follow-from-${name}`,
  fromOther: 'follow-from-other',
  /** Target chooser: namespaces, the echo service, or a typed address. */
  toNs: (name: string) => `follow-to-${name}`,
  toService: (name: string) => `follow-to-svc-${name}`,
  toInput: 'follow-to-input',
  proto: (p: string) => `follow-proto-${p}`,
  port: 'follow-port',
  rules: 'follow-rules',
  followExpr: 'follow-expr',
  /** The IPv6 chip: names resolve to their IPv6 address, services to their IPv6 ClusterIP. */
  ipv6: 'follow-ipv6',
  followButton: 'follow-go',
  error: 'follow-error',
  summary: 'follow-summary',
  diagram: 'hop-diagram',
  lane: (name: string) => `hd-lane-${name}`,
  /** Stable per hop: path, lane and the hop's seq in that path. */
  hop: (path: PathKind, lane: string, seq: number) =>
    `hd-hop-${path === 'request' ? 'req' : 'rep'}-${nsDomId(lane)}-${seq}`,
  arrow: (path: PathKind, seq: number) => `hd-arrow-${path === 'request' ? 'req' : 'rep'}-${seq}`,
  packetDot: 'hd-packet-dot',
  replay: 'hd-replay',
  speed: 'hd-speed',
  caption: 'hd-caption',
  resetZoom: 'hd-reset-zoom',
  /** A hop's one-line reason, in its box (several) and in the detail (one). */
  hopReason: 'hd-hop-reason',
  /** A program badge line in a hop box. */
  hopProgram: 'hd-hop-program',
  detailReason: 'hd-detail-reason',
  detailInferred: 'hd-detail-inferred',
  detailProgram: (i: number) => `hd-detail-program-${i}`,
  /** Above the diagram: why a journey that did not arrive stopped. */
  diagnosis: 'hd-diagnosis',
  /** The socket-level rewrite before the first hop (cgroup connect4/sendmsg4). */
  socketRewrite: 'hd-socket-rewrite',
  socketPrograms: 'hd-socket-programs',
  detail: 'hd-detail',
  detailClose: 'hd-detail-close',
  loaderBanner: 'tracer-loader-banner',
  /** Loader counters in live mode; `data-pid` is the loader's pid. */
  loaderInfo: 'tracer-loader-info',
  liveProto: 'live-proto',
  liveExpr: 'live-expr',
  liveAddr: 'live-addr',
  livePort: 'live-port',
  liveNs: (name: string) => `live-ns-${name}`,
  liveStart: 'live-start',
  liveStop: 'live-stop',
  liveList: 'live-list',
  liveItem: (i: number) => `live-item-${i}`,
  liveCounters: 'live-counters',
  liveError: 'live-error',
} as const;
