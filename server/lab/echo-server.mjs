// The lab's echo server, run inside pod-c and pod-d: like seed 000's echoserver, it names the pod and the
// client ip:port it saw, which is how a student sees whether the client address survived NAT.
// It answers HTTP on TCP and, for the datapaths that also balance UDP (dsr), each datagram on the same port.
// Plain .mjs so it starts in ~40 ms without tsx.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';

const [pod = 'unknown', portArg = '8080'] = process.argv.slice(2);
const port = Number(portArg);

const answer = (req, res) => {
  const a = req.socket.remoteAddress ?? '';
  const client = `${a.includes(':') ? `[${a}]` : a}:${req.socket.remotePort}`;
  const body = `pod=${pod}\nclient=${client}\nrequest=${req.method} ${req.url}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'x-pod': pod, 'x-client': client, connection: 'close' });
  res.end(body);
};
const server = createServer(answer);
server.listen(port, '0.0.0.0');
// IPv6 on a socket of its own (ipv6Only), so IPv4 clients still read as 10.244.x.y, not ::ffff:10.244.x.y.
const server6 = createServer(answer);
server6.on('error', () => undefined); // an IPv4-only lab (no IPv6 address in the pod): IPv4 still serves
server6.listen({ port, host: '::', ipv6Only: true });

const udp = createSocket('udp4');
udp.on('message', (msg, from) => {
  const body = `pod=${pod}\nclient=${from.address}:${from.port}\nrequest=UDP ${msg.length} bytes\n`;
  // A reply that cannot be sent (the client is gone) is not worth crashing the pod over.
  udp.send(body, from.port, from.address, () => undefined);
});
udp.bind(port, '0.0.0.0');
const udp6 = createSocket({ type: 'udp6', ipv6Only: true });
udp6.on('message', (msg, from) => {
  const body = `pod=${pod}\nclient=[${from.address}]:${from.port}\nrequest=UDP ${msg.length} bytes\n`;
  udp6.send(body, from.port, from.address, () => undefined);
});
udp6.on('error', () => undefined);
udp6.bind(port, '::');

process.on('SIGTERM', () => {
  udp.close();
  udp6.close();
  server6.close();
  server.close(() => process.exit(0));
});
