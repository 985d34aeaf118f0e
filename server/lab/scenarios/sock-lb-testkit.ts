// Small socket clients and a UDP responder for sock-lb's tests, in perl: it is Essential on Debian (python
// is not in our image), and its Socket module gives getpeername()/recv()'s source address directly.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** `perl client.pl tcp|udp|udp-sendto IP PORT`: prints peer=, kernel= (ss's view) and the reply. */
const CLIENT = String.raw`
use Socket;
my ($mode, $ip, $port) = @ARGV;
alarm 4;
my $udp = $mode ne 'tcp';
socket(my $s, AF_INET, $udp ? SOCK_DGRAM : SOCK_STREAM, 0) or die "socket: $!\n";
my $dst = pack_sockaddr_in($port, inet_aton($ip));
if ($mode eq 'udp-sendto') {
  send($s, "hello\n", 0, $dst) or die "sendto: $!\n";
} else {
  connect($s, $dst) or die "connect: $!\n";
  my ($pp, $pa) = unpack_sockaddr_in(getpeername($s));
  print "peer=", inet_ntoa($pa), ":$pp\n";
  my ($lp) = unpack_sockaddr_in(getsockname($s));
  my $ss = $udp ? 'u' : 't';
  for (grep { /:$lp\s/ } split /\n/, qx(ss -Hn$ss)) { my @f = split ' '; print "kernel=$f[-1]\n"; }
  send($s, $udp ? "hello\n" : "GET / HTTP/1.0\r\n\r\n", 0) or die "send: $!\n";
}
my $reply = '';
if ($udp) {
  my $from = recv($s, $reply, 512, 0);
  defined $from or die "recv: $!\n";
  my ($fp, $fa) = unpack_sockaddr_in($from) if length $from;
  print "from=", inet_ntoa($fa), ":$fp\n" if length $from;
} else {
  local $/; $reply = <$s>;
}
print "reply=$_\n" for grep { length } split /\r?\n/, $reply;
`;

/** `perl responder.pl NAME`: answers every datagram on UDP 8080 with pod=NAME and the client it saw. */
const RESPONDER = String.raw`
use Socket;
socket(my $s, AF_INET, SOCK_DGRAM, 0) or die "socket: $!\n";
bind($s, pack_sockaddr_in(8080, INADDR_ANY)) or die "bind: $!\n";
$| = 1; print "ready\n";
while (1) {
  my $from = recv($s, my $buf, 512, 0) or next;
  my ($p, $a) = unpack_sockaddr_in($from);
  send($s, "pod=$ARGV[0]\nclient=" . inet_ntoa($a) . ":$p\n", 0, $from);
}
`;

export interface ClientResult {
  readonly ok: boolean;
  readonly err: string;
  /** getpeername() as the application sees it. */
  readonly peer?: string;
  /** The socket's real peer, from ss (sock_diag, which no sock_addr program rewrites). */
  readonly kernel?: string;
  /** recvfrom()'s source address (UDP). */
  readonly from?: string;
  readonly reply: readonly string[];
}

export function client(netns: string, mode: 'tcp' | 'udp' | 'udp-sendto', ip: string, port: number): ClientResult {
  const r = spawnSync(
    'nsenter',
    [`--net=/var/run/netns/${netns}`, '--', 'perl', '-e', CLIENT, mode, ip, String(port)],
    {
      encoding: 'utf8',
      timeout: 8000,
    },
  );
  const lines = r.stdout.split('\n');
  const field = (k: string): string | undefined => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
  return {
    ok: r.status === 0,
    err: r.stderr.trim(),
    peer: field('peer'),
    kernel: field('kernel'),
    from: field('from'),
    reply: lines.filter((l) => l.startsWith('reply=')).map((l) => l.slice(6)),
  };
}

/** Starts a UDP responder on 8080 in netns; resolves once it is bound. The caller kills it by pid. */
export function udpResponder(netns: string, name: string): Promise<ChildProcess> {
  const p = spawn('nsenter', [`--net=/var/run/netns/${netns}`, '--', 'perl', '-e', RESPONDER, name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) resolve(p);
    });
    p.on('exit', (code) => reject(new Error(`UDP responder in ${netns} exited ${code}: ${err}`)));
  });
}
