// The server's whole HTTP side (capture downloads routed as in production, then the socket gateway with
// every capability) on an ephemeral port of 127.0.0.1, with one connected client. Next is not needed
// here: anything that is not ours gets a 404.
import { createServer } from 'node:http';
import { createGateway } from '../server/gateway';
import { requestListener } from '../server/gateway/http';
import { listenAndConnect, type PjClient } from './socket';

export interface TestServer {
  readonly base: string;
  readonly client: PjClient;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const http = createServer(requestListener((_req, res) => void res.writeHead(404).end('not ours')));
  const gateway = createGateway(http);
  const { base, client } = await listenAndConnect(http);
  return {
    base,
    client,
    close: async () => {
      client.close();
      await gateway.close();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
