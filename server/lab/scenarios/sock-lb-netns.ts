// The netns cookie of each lab namespace, which sock-lb's programs match with bpf_get_netns_cookie().
// The kernel gives it to a socket in that namespace through getsockopt(SO_NETNS_COOKIE); nothing in
// iproute2 or /proc prints it. Perl is Essential on Debian (also in the node:bookworm-slim image, which
// has no python), but its getsockopt() always passes a 256-byte buffer and the kernel wants exactly 8,
// so the call goes through syscall() with the getsockopt number of this architecture.
// Cookies are never reused during a boot, so a stale one can't ever match someone else's namespace.
import { z } from 'zod';
import { exec, inNetns } from '../../sys/exec';
import { LabError } from '../errors';

const SO_NETNS_COOKIE = 71;
/** getsockopt(2)'s number; SOL_SOCKET comes from perl's Socket module. */
const GETSOCKOPT_NR: Partial<Record<NodeJS.Architecture, number>> = { x64: 55, arm64: 209 };

const SCRIPT = [
  'socket(my $s, AF_INET, SOCK_DGRAM, 0) or die "socket: $!\\n";',
  'my $buf = "\\0" x 8; my $len = pack("L", 8);',
  `syscall($ARGV[0], fileno($s), SOL_SOCKET, ${SO_NETNS_COOKIE}, $buf, $len) == 0`,
  '  or die "getsockopt SO_NETNS_COOKIE: $!\\n";',
  'print unpack("H*", $buf), "\\n";',
].join('\n');

const CookieHex = z.string().regex(/^[0-9a-f]{16}$/);

/** Cookie of one named namespace, as the 8 bytes the kernel stores (host order). */
export async function netnsCookie(netns: string): Promise<Buffer> {
  const nr = GETSOCKOPT_NR[process.arch];
  if (nr === undefined) throw new LabError(`sock-lb: no getsockopt syscall number known for ${process.arch}`);
  const r = await exec(inNetns({ kind: 'named', name: netns }, 'perl', ['-MSocket', '-e', SCRIPT, String(nr)]));
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`;
    throw new LabError(`sock-lb: could not read the netns cookie of ${netns} with perl: ${why}`);
  }
  const out = r.stdout;
  const hex = CookieHex.safeParse(out.trim());
  if (!hex.success) throw new LabError(`sock-lb: could not read the netns cookie of ${netns} (got "${out.trim()}")`);
  return Buffer.from(hex.data, 'hex');
}

/** Cookies of all the given namespaces, read in parallel. */
export async function netnsCookies(names: readonly string[]): Promise<Map<string, Buffer>> {
  const cookies = await Promise.all(names.map(async (n) => [n, await netnsCookie(n)] as const));
  return new Map(cookies);
}
