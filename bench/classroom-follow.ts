// Follow the instructor: the latency of a broadcast step. A server (the real gateway in token mode, no
// Next) runs as a child process; one instructor socket and N student sockets (real socket.io clients,
// as bench/soak.ts uses) connect to it, the students join and follow, and the instructor sends `--steps`
// step changes of the pod-a → pod-c journey (the journey whole once, then by id), `--gap` ms apart.
// For each step and student: instructor emit → student receive, and server receive (the push's `at`)
// → student receive. Same machine, so one wall clock. No root, no lab.
//   npx tsx bench/classroom-follow.ts [--students 10] [--steps 50] [--gap 150]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClassView, ClassViewMsg } from '../server/protocol/classroom';
import { ask, connectTo, type PjClient } from '../test/socket';
import { arg, median, p95, sleep } from './common';

async function serve(): Promise<void> {
  const { createGateway } = await import('../server/gateway');
  const { requestListener } = await import('../server/gateway/http');
  const { createTokens } = await import('../server/classroom/tokens');
  const tokens = createTokens({ dir: mkdtempSync(join(tmpdir(), 'pjb-follow-')) });
  const http = createServer(requestListener((_req, res) => void res.writeHead(404).end('not ours')));
  const gateway = createGateway(http, { tokens });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const port = (http.address() as AddressInfo).port;
  process.stdout.write(`ready ${port} ${tokens.instructor} ${tokens.student}\n`);
  const close = (): void => void gateway.close().finally(() => process.exit(0));
  process.stdin.on('end', close);
  process.on('SIGTERM', close);
}

async function main(): Promise<void> {
  const nStudents = arg('students', 10);
  const steps = arg('steps', 50);
  const gap = arg('gap', 150);
  const self = fileURLToPath(import.meta.url);
  const child = spawn('npx', ['tsx', self, '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [port, it, st] = await new Promise<string[]>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.startsWith('ready ')) resolve(l.split(' ').slice(1));
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const journey = JSON.parse(
    readFileSync(join(self, '../../app/components/hop-diagram/fixtures/ping-pod-a-pod-c.json'), 'utf8'),
  ) as { id: string };
  const teacher = await connectTo(base, { query: { token: it } });
  const sentAt = new Map<number, number>();
  const e2e: number[] = [];
  const fromServer: number[] = [];
  const students: PjClient[] = [];
  for (let i = 0; i < nStudents; i++) {
    const s = await connectTo(base, { query: { token: st } });
    await ask(s, 'classroom:join', { name: `s${i}` });
    await ask(s, 'classroom:attend', { on: true });
    s.on('classroom:view', (m: ClassViewMsg) => {
      // Emit → receive on this process's monotonic clock; from the server's `at` on the wall clock (ms).
      const step = m.view?.step ?? -1;
      const t = sentAt.get(step);
      if (t === undefined) return;
      e2e.push(performance.now() - t);
      fromServer.push(Date.now() - m.at);
    });
    students.push(s);
  }
  const view = (step: number, full: boolean): ClassView => ({
    tab: 'follow',
    journey: { id: journey.id, ...(full && { full: journey as never }) },
    step,
    capture: null,
    packet: null,
  });
  await ask(teacher, 'classroom:view', view(-1, true));
  await sleep(300);
  for (let i = 0; i < steps; i++) {
    sentAt.set(i, performance.now());
    teacher.emit('classroom:view', view(i, false), () => undefined);
    await sleep(gap);
  }
  await sleep(500);
  const expected = steps * nStudents;
  const f = (x: number) => x.toFixed(2);
  console.log(
    `| students | steps | gap ms | received | emit → student: median / p95 ms | server → student: median / p95 ms |`,
  );
  console.log(`|---|---|---|---|---|---|`);
  console.log(
    `| ${nStudents} | ${steps} | ${gap} | ${e2e.length}/${expected} | ${f(median(e2e))} / ${f(p95(e2e))} | ${f(median(fromServer))} / ${f(p95(fromServer))} |`,
  );
  for (const s of [teacher, ...students]) s.close();
  child.stdin.end();
}

if (process.argv.includes('--serve')) void serve();
else
  void main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
