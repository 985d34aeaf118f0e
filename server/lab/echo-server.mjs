// The lab's echo server, run inside pod-c and pod-d: like seed 000's echoserver, it names the pod and the
// client ip:port it saw, which is how a student sees whether the client address survived NAT.
// Plain .mjs so it starts in ~40 ms without tsx.
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
process.on('SIGTERM', () => server.close(() => process.exit(0)));
