// Issue 10, defect 1: the captures folder is trusted only for regular files. A symlink (or a FIFO)
// planted there is never followed: not by the download, not by capture:open, not by capture:list, and a
// symlinked notes sidecar is never written through. A missing folder is created 0700; one others can
// write to is refused with a one-line error. Through the server's HTTP routing and socket gateway.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientToServerEvents } from '../protocol/index';
import { SEED000_FRAME } from './fixtures/frames';
import { writePcap } from './pcap';
import { ask, type PjClient } from '../../test/socket';
import { startTestServer, type TestServer } from '../../test/server';

const root = mkdtempSync(join(tmpdir(), 'pjt-folder-'));
const dir = join(root, 'captures');
const outside = join(root, 'outside');
const SECRET = 'TOP-SECRET-pjt-0123456789';
const pcap = writePcap(1, [{ data: SEED000_FRAME, tsSec: 1700000000, tsNsec: 0 }]);
const previousDir = process.env.PJ_CAPTURE_DIR;

let server: TestServer | undefined;
let client: PjClient;
let base = '';
const call = <T>(ev: keyof ClientToServerEvents, req: unknown) => ask<T>(client, ev, req);
const oneLine = (s: unknown): void => expect(s).toMatch(/^[^\n]+$/);

/** Uploads a one-packet pcap, saved into the folder; its file name. */
async function upload(): Promise<{ id: string; fileName: string }> {
  const r = await call<{ info: { id: string; fileName: string } }>('capture:decode-file', {
    name: 'one.pcap',
    base64: pcap.toString('base64'),
  });
  if (!r.ok) throw new Error(r.error);
  return r.value.info;
}

beforeAll(async () => {
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), SECRET + '\n');
  // A valid capture outside the folder: opening it through a link must fail too, not just fail to parse.
  writeFileSync(join(outside, 'elsewhere.pcap'), pcap);
  process.env.PJ_CAPTURE_DIR = dir;
  server = await startTestServer();
  ({ base, client } = server);
});

afterAll(async () => {
  await server?.close();
  if (previousDir === undefined) delete process.env.PJ_CAPTURE_DIR;
  else process.env.PJ_CAPTURE_DIR = previousDir;
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  process.env.PJ_CAPTURE_DIR = dir;
});

describe('the captures folder', () => {
  it('is created with mode 0700 when missing', async () => {
    await upload();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('never serves a symlink: not the download, not capture:open, not the list', async () => {
    symlinkSync(join(outside, 'secret'), join(dir, 'x.pcapng'));
    symlinkSync(join(outside, 'elsewhere.pcap'), join(dir, 'y.pcapng'));
    for (const name of ['x.pcapng', 'y.pcapng']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(`${base}/captures/${name}`, { method });
        expect(res.status).toBe(400);
        const body = await res.text();
        expect(body).not.toContain(SECRET);
        if (method === 'GET') expect(body).toBe(`"${name}" is a symlink; refusing to follow it\n`);
      }
      const opened = await call('capture:open', { name });
      expect(opened).toMatchObject({ ok: false, error: `"${name}" is a symlink; refusing to follow it` });
    }
    const list = await call<{ saved: { name: string }[] }>('capture:list', {});
    expect(list.ok && list.value.saved.map((s) => s.name)).not.toContain('x.pcapng');
    expect(list.ok && list.value.saved.map((s) => s.name)).not.toContain('y.pcapng');
    // Deleting one removes nothing (the link stays, its target too).
    expect(await call('capture:delete', { name: 'x.pcapng' })).toMatchObject({
      ok: false,
      error: 'no capture named "x.pcapng"',
    });
    expect(readFileSync(join(outside, 'secret'), 'utf8')).toBe(SECRET + '\n');
    rmSync(join(dir, 'x.pcapng'));
    rmSync(join(dir, 'y.pcapng'));
  });

  it('answers a FIFO planted in the folder at once, without opening it for good', async () => {
    expect(spawnSync('mkfifo', [join(dir, 'fifo.pcapng')]).status).toBe(0);
    const res = await fetch(`${base}/captures/fifo.pcapng`, { signal: AbortSignal.timeout(3000) });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('"fifo.pcapng" is not a regular file; refusing it\n');
    const opened = await call('capture:open', { name: 'fifo.pcapng' });
    expect(opened).toMatchObject({ ok: false, error: '"fifo.pcapng" is not a regular file; refusing it' });
    rmSync(join(dir, 'fifo.pcapng'));
  });

  it('never writes a note through a symlinked sidecar, and keeps the note unsaid', async () => {
    const { id, fileName } = await upload();
    const victim = join(outside, 'victim.json');
    writeFileSync(victim, 'untouched');
    const sidecar = join(dir, `.${fileName}.notes.json`);
    symlinkSync(victim, sidecar);
    const note = await call('capture:note', { id, index: 0, text: 'overwrite?' });
    expect(note).toMatchObject({ ok: false, error: `cannot save the notes of "${fileName}": it is a symlink` });
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    const d = await call<{ notes: string[] }>('capture:packet', { id, index: 0 });
    expect(d.ok && d.value.notes).toEqual([]);
    // The capture itself still downloads, without anything read through the link.
    const res = await fetch(`${base}/captures/${fileName}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).includes('untouched')).toBe(false);
    // With the link gone, notes save as before.
    rmSync(sidecar);
    expect(await call('capture:note', { id, index: 0, text: 'fine now' })).toEqual({ ok: true, value: null });
    expect(JSON.parse(readFileSync(sidecar, 'utf8'))).toEqual({ '0': [{ source: 'note', text: 'fine now' }] });
  });

  it('refuses a folder others can write to, with one line, and writes nothing there', async () => {
    const open = join(root, 'world-writable');
    mkdirSync(open);
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'old.pcapng'), pcap);
    process.env.PJ_CAPTURE_DIR = open;
    const why = `the captures folder ${open} is writable by others (mode 777); run chmod o-w on it`;
    const up = await call('capture:decode-file', { name: 'one.pcap', base64: pcap.toString('base64') });
    expect(up).toMatchObject({ ok: false, error: why });
    const list = await call('capture:list', {});
    expect(list).toMatchObject({ ok: false, error: why });
    expect(await call('capture:open', { name: 'old.pcapng' })).toMatchObject({ ok: false, error: why });
    const res = await fetch(`${base}/captures/old.pcapng`);
    expect(res.status).toBe(400);
    oneLine((await res.text()).trimEnd());
    expect(readdirSync(open)).toEqual(['old.pcapng']);
  });
});
