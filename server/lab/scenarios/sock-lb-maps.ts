// sock-lb's map contents as `bpftool map update` lines, laid out byte for byte like probes/lab/sock-lb.h.
// Integers are in host order (bpftool's hex is the raw key/value), addresses are byte arrays.
import { endianness } from 'node:os';
import { SERVICE } from '../spec';

export const PROTO = { tcp: 6, udp: 17 } as const;
/** The one service of the lab; its backends are slots 0..n-1 under this id in the backend map. */
export const SERVICE_ID = 1;
const LE = endianness() === 'LE';

class Bytes {
  private readonly parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (LE) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (LE) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  ip(addr: string): this {
    this.parts.push(Buffer.from(addr.split('.').map(Number)));
    return this;
  }
  /** A NUL-padded char[size]; the text must leave room for the NUL so bpftool prints it as a string. */
  str(text: string, size: number): this {
    if (text.length >= size) throw new Error(`"${text}" does not fit char[${size}]`);
    const b = Buffer.alloc(size);
    b.write(text, 'ascii');
    this.parts.push(b);
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  hex(): string {
    return [...Buffer.concat(this.parts)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  }
}

const update = (map: string, key: Bytes, value: Bytes): string =>
  `map update pinned ${map} key hex ${key.hex()} value hex ${value.hex()}`;

export interface SockLbMaps {
  readonly svc: string;
  readonly backend: string;
  readonly netns: string;
}

/** The echo service (TCP and UDP on 10.96.0.10:80) and its backends pod-c/pod-d:8080. */
export function serviceUpdates(maps: SockLbMaps): string[] {
  const svcName = `${SERVICE.namespace}/${SERVICE.name}`;
  const svcValue = (): Bytes => new Bytes().u32(SERVICE_ID).u32(SERVICE.endpoints.length).str(svcName, 16);
  return [
    ...Object.values(PROTO).map((proto) =>
      update(maps.svc, new Bytes().ip(SERVICE.clusterIP).u16(SERVICE.port).u8(proto).u8(0), svcValue()),
    ),
    ...SERVICE.endpoints.map((e, slot) =>
      update(maps.backend, new Bytes().u32(SERVICE_ID).u32(slot), new Bytes().ip(e.ip).u16(e.port).str(e.pod, 10)),
    ),
  ];
}

/** One line per lab namespace: its netns cookie (8 raw bytes, as SO_NETNS_COOKIE gives them) -> its name. */
export function netnsUpdates(maps: SockLbMaps, cookies: ReadonlyMap<string, Buffer>): string[] {
  return [...cookies].map(([name, cookie]) => update(maps.netns, new Bytes().raw(cookie), new Bytes().str(name, 16)));
}
