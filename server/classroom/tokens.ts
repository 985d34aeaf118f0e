// The two tokens of token mode. They are kept in /run/packet-journey/tokens.json (a tmpfs: gone at
// reboot, mode 0600) so a server restarted mid-class keeps the links on the wall valid; `--rotate-tokens`
// at start, or the instructor's button, makes new ones. PJ_RUN_DIR moves the folder (tests).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ClassRole } from '../protocol/classroom';

/** 24 random bytes, 192 bits, as 32 URL-safe characters. */
const TOKEN_BYTES = 24;
const TokenText = z.string().regex(/^[A-Za-z0-9_-]{32}$/);
const TokenFile = z.object({ instructor: TokenText, student: TokenText }).strict();
type Pair = z.infer<typeof TokenFile>;

export const runDir = (): string => process.env.PJ_RUN_DIR ?? '/run/packet-journey';

const fresh = (): Pair => ({
  instructor: randomBytes(TOKEN_BYTES).toString('base64url'),
  student: randomBytes(TOKEN_BYTES).toString('base64url'),
});

/** Constant time for equal lengths; the length of a token is no secret (always 32). */
function same(candidate: string, token: string): boolean {
  const a = Buffer.from(candidate);
  const b = Buffer.from(token);
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

export interface Tokens {
  readonly instructor: string;
  readonly student: string;
  /** The role a presented token grants, if any. Both are compared, so timing does not tell which. */
  roleOf(candidate: string | undefined): ClassRole | undefined;
  rotate(): void;
  /** Where they are kept, or why they could not be (then they last as long as the process). */
  readonly stored: string;
}

/** The kept tokens, if the file is there and whole (root only: mode 0600). The CLI reads the instructor's
 * to reach a server in token mode. */
export function readStoredTokens(dir = runDir()): Pair | undefined {
  try {
    const p = TokenFile.safeParse(JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8')));
    return p.success ? p.data : undefined;
  } catch {
    return undefined;
  }
}

export function createTokens(opts: { rotate?: boolean; dir?: string } = {}): Tokens {
  const file = join(opts.dir ?? runDir(), 'tokens.json');
  let stored = file;
  const load = (): Pair | undefined => readStoredTokens(opts.dir ?? runDir());
  const save = (p: Pair): void => {
    try {
      mkdirSync(opts.dir ?? runDir(), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(p) + '\n', { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, file);
      stored = file;
    } catch (e) {
      stored = `memory only (${e instanceof Error ? e.message : String(e)})`;
    }
  };
  let pair = (opts.rotate ? undefined : load()) ?? fresh();
  save(pair);
  return {
    get instructor() {
      return pair.instructor;
    },
    get student() {
      return pair.student;
    },
    get stored() {
      return stored;
    },
    roleOf(candidate) {
      if (candidate === undefined) return undefined;
      const i = same(candidate, pair.instructor);
      const s = same(candidate, pair.student);
      return i ? 'instructor' : s ? 'student' : undefined;
    },
    rotate() {
      pair = fresh();
      save(pair);
    },
  };
}
