// A small, strict argument parser shared by every verb: unknown flags and missing values are one-line
// errors, never silently ignored. What a request may contain is the wire schema's business
// (server/protocol/): verbs assemble the request from their flags and check it with `parseRequest`.
import type { z } from 'zod';

export class UsageError extends Error {}

export type FlagSpec =
  | { readonly type: 'boolean'; readonly short?: string; readonly help: string }
  | { readonly type: 'string'; readonly short?: string; readonly help: string; readonly metavar?: string }
  | {
      readonly type: 'number';
      readonly short?: string;
      readonly help: string;
      readonly min?: number;
      readonly max?: number;
    }
  | { readonly type: 'enum'; readonly values: readonly string[]; readonly help: string };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type FlagValue<S extends FlagSpec> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'number' }
    ? number | undefined
    : S extends { type: 'enum'; values: readonly (infer V)[] }
      ? V | undefined
      : string | undefined;

export type ParsedFlags<F extends FlagSpecs> = { -readonly [K in keyof F]: FlagValue<F[K]> };

export interface Parsed<F extends FlagSpecs> {
  readonly flags: ParsedFlags<F>;
  readonly positionals: string[];
  readonly help: boolean;
}

export function parseArgs<F extends FlagSpecs>(argv: readonly string[], specs: F): Parsed<F> {
  const flags: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(specs)) if (s.type === 'boolean') flags[k] = false;
  const positionals: string[] = [];
  let help = false;
  const byShort = new Map<string, string>();
  for (const [k, s] of Object.entries(specs)) if ('short' in s && s.short) byShort.set(s.short, k);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z0-9]$/.test(arg)) {
      name = byShort.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value`);
    }
    if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got "${value}"`);
      if (spec.min !== undefined && n < spec.min) throw new UsageError(`--${name} must be ≥ ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw new UsageError(`--${name} must be ≤ ${spec.max}`);
      flags[name] = n;
    } else if (spec.type === 'enum') {
      if (!spec.values.includes(value)) {
        throw new UsageError(`--${name} must be one of ${spec.values.join('|')}, got "${value}"`);
      }
      flags[name] = value;
    } else {
      flags[name] = value;
    }
  }
  return { flags: flags as ParsedFlags<F>, positionals, help };
}

/**
 * Checks the request a verb assembled from its flags with the wire schema the socket uses, so the CLI
 * repeats none of its rules. The first issue becomes the one-line usage error, named after the flag that
 * filled the field (`flagFor` maps fields whose flag is named differently, e.g. `{ timeoutMs: '--timeout' }`).
 * An issue about a value the user gave is reported before one about a missing value.
 */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  req: Readonly<Record<string, unknown>>,
  flagFor: Readonly<Record<string, string>> = {},
): z.output<S> {
  const r = schema.safeParse(req);
  if (r.success) return r.data;
  const field = (i: z.core.$ZodIssue): string => String(i.path[0] ?? '');
  const given = (i: z.core.$ZodIssue): boolean => req[field(i)] !== undefined && req[field(i)] !== '';
  const issue = r.error.issues.find(given) ?? r.error.issues[0];
  if (!issue) throw new UsageError('invalid arguments');
  throw new UsageError(issueText(flagFor[field(issue)] ?? `--${field(issue)}`, issue, req[field(issue)]));
}

function issueText(flag: string, i: z.core.$ZodIssue, value: unknown): string {
  const missing = value === undefined || value === '';
  if (missing && (i.code === 'invalid_type' || i.code === 'too_small')) return `${flag} is required`;
  if (i.code === 'too_small' && i.origin === 'number') return `${flag} must be ${i.inclusive ? '≥' : '>'} ${i.minimum}`;
  if (i.code === 'too_big' && i.origin === 'number') return `${flag} must be ${i.inclusive ? '≤' : '<'} ${i.maximum}`;
  if (i.code === 'invalid_value') return `${flag} must be one of ${i.values.join('|')}, got "${String(value)}"`;
  return `${flag}: ${i.message}`;
}

/** Formats the flags of a verb for --help. */
export function flagHelp(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const short = 'short' in s && s.short ? `-${s.short}, ` : '';
    const meta =
      s.type === 'boolean'
        ? ''
        : s.type === 'enum'
          ? ` ${s.values.join('|')}`
          : s.type === 'number'
            ? ' N'
            : ` ${s.metavar ?? k.toUpperCase()}`;
    return [`  ${short}--${k}${meta}`, s.help] as const;
  });
  rows.push(['  -h, --help', 'show this help']);
  const w = Math.max(...rows.map(([a]) => a.length)) + 2;
  return rows.map(([a, b]) => a.padEnd(w) + b).join('\n');
}

/** A verb of `packet-journey`. `run` returns the exit code; UsageError becomes a one-line error, exit 2.
 * Its name and summary live in the dispatcher's table (server/cli.ts). */
export interface Command {
  run(argv: readonly string[]): Promise<number>;
}

/** A verb whose `--help` prints `help`; otherwise `run` gets the parsed flags and positionals. */
export function defineCommand<F extends FlagSpecs>(
  specs: F,
  help: string,
  run: (args: Omit<Parsed<F>, 'help'>) => Promise<number>,
): Command {
  return {
    run: async (argv) => {
      const { help: wantsHelp, ...args } = parseArgs(argv, specs);
      if (wantsHelp) {
        process.stdout.write(help + '\n');
        return 0;
      }
      return run(args);
    },
  };
}

/** Prints JSON with a trailing newline; every verb's --json output goes through here. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
