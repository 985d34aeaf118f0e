import { describe, expect, it } from 'vitest';
import { lineSplitter, startProc, stderrReason } from './proc';

describe('lineSplitter', () => {
  it('joins a line split over chunks and keeps an unterminated last line', () => {
    const got: string[] = [];
    const s = lineSplitter((l) => got.push(l));
    for (const c of ['a', 'b\nc', 'd', '', 'e\n\nf']) s.push(c);
    expect(got).toEqual(['ab', 'cde', '']);
    s.end();
    expect(got).toEqual(['ab', 'cde', '', 'f']);
  });
});

describe('stderrReason', () => {
  it('keeps the last meaningful lines, mapped', () => {
    const tail = 'tool: listening\n\ntool: bad thing\n  tool: worse thing \n3 packets captured\n';
    const reasonLine = (l: string): string | undefined =>
      /listening|captured/.test(l) ? undefined : l.replace(/^tool: /, '');
    expect(stderrReason(tail, { reasonLine })).toBe('bad thing; worse thing');
    expect(stderrReason(tail, { reasonLines: 1 })).toBe('3 packets captured');
  });
});

describe('startProc', () => {
  it('sends stdout lines to the sink and reports the exit with the stderr reason', async () => {
    const lines: string[] = [];
    const p = startProc(['sh', '-c', 'printf "one\\ntwo\\nthree"; echo oops >&2; echo worse >&2; exit 3'], {
      stdout: { lines: (l) => lines.push(l) },
    });
    const e = await p.exited;
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(e).toMatchObject({ code: 3, signal: null, how: 'exit 3', reason: 'oops; worse', stopped: false });
    expect(p.running).toBe(false);
  });

  it('sends stdout bytes to a byte sink and writes stdin', async () => {
    const out: Buffer[] = [];
    const p = startProc(['cat'], { stdout: { bytes: (b) => out.push(b) }, stdin: true });
    expect(p.write('hello\n')).toBe(true);
    const e = await p.stop({ via: 'eof' });
    expect(Buffer.concat(out).toString()).toBe('hello\n');
    expect(e).toMatchObject({ code: 0, stopped: true });
    expect(p.write('late')).toBe(false);
  });

  it('stops with SIGTERM, and SIGKILL when the process ignores it', async () => {
    const polite = await startProc(['sleep', '30']).stop();
    expect(polite).toMatchObject({ signal: 'SIGTERM', how: 'killed by SIGTERM', stopped: true });
    let ready = (): void => undefined;
    const armed = new Promise<void>((r) => (ready = r));
    const stubborn = startProc(
      [process.execPath, '-e', 'process.on("SIGTERM", () => {}); console.log("armed"); setInterval(() => {}, 1000)'],
      { stdout: { lines: () => ready() } },
    );
    await armed;
    const t0 = Date.now();
    const e = await stubborn.stop({ killAfterMs: 200 });
    expect(e.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('reports a command that cannot run, without throwing', async () => {
    const e = await startProc(['/nonexistent/pj-tool']).exited;
    expect(e.spawnError?.message).toMatch(/ENOENT/);
    expect(e.how).toMatch(/^spawn: /);
  });
});
