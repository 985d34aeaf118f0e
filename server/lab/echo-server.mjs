// The lab's echo server, run inside pod-c and pod-d: like seed 000's echoserver, it names the pod and the
// client ip:port it saw, which is how a student sees whether the client address survived NAT.
// It answers HTTP on TCP and, for the datapaths that also balance UDP (dsr), each datagram on the same port.
// Plain .mjs so it starts in ~40 ms without tsx.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';

const [pod = 'unknown', portArg = '8080'] = process.argv.slice(2);
const port = Number(portArg);

const server = createServer((req, res) => {
  const client = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  const body = `pod=${pod}\nclient=${client}\nrequest=${req.method} ${req.url}\n`;
  res.writeHead(200, { 'content-type': 'text/plain', 'x-pod': pod, 'x-client': client, connection: 'close' });
  res.end(body);
});
server.listen(port, '0.0.0.0');

const udp = createSocket('udp4');
udp.on('message', (msg, from) => {
  const body = `pod=${pod}\nclient=${from.address}:${from.port}\nrequest=UDP ${msg.length} bytes\n`;
  // A reply that cannot be sent (the client is gone) is not worth crashing the pod over.
  udp.send(body, from.port, from.address, () => undefined);
});
udp.bind(port, '0.0.0.0');

process.on('SIGTERM', () => {
  udp.close();
  server.close(() => process.exit(0));
});
