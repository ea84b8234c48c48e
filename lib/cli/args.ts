// Command-line parsing in runc's conventions: global flags before the command, the
// command's flags before its positional arguments, "--flag value", "--flag=value",
// one-letter aliases, repeatable flags. An unknown flag is an error, not ignored.
import { ContainerError } from '../index';

export interface FlagSpec {
  alias?: string;
  /** Takes no value. */
  bool?: boolean;
  /** May be given more than once; the values are collected. */
  repeat?: boolean;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

/** Flags up to the first positional argument (or "--"); the rest is returned as it is. */
export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagSpec>>): { flags: Flags; rest: string[] } {
  const flags: Flags = {};
  const byAlias = new Map(Object.entries(spec).filter(([, s]) => s.alias).map(([name, s]) => [s.alias as string, name]));
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const eq = arg.indexOf('=');
    const raw = arg.replace(/^--?/, '').slice(0, eq >= 0 ? eq - (arg.startsWith('--') ? 2 : 1) : undefined);
    const name = Object.hasOwn(spec, raw) ? raw : byAlias.get(raw);
    if (!name) throw new ContainerError('ERR_INVALID_ARG', `flag provided but not defined: ${arg.slice(0, eq >= 0 ? eq : undefined)}`);
    const s = spec[name];
    let value: string | boolean;
    if (s.bool) {
      value = eq >= 0 ? arg.slice(eq + 1) !== 'false' : true;
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new ContainerError('ERR_INVALID_ARG', `flag needs an argument: ${arg}`);
      value = argv[++i];
    }
    if (s.repeat) flags[name] = [...((flags[name] as string[] | undefined) ?? []), value as string];
    else flags[name] = value;
  }
  return { flags, rest: argv.slice(i) };
}

export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}
