/**
 * Commander options derived from a zod object schema, so a setting declared once (e.g.
 * src-shared/encoder-config.ts) gets its flag, description, default and validation for free:
 *   camelCase key → --kebab-case flag; number and enum keys take a value (enums list their choices),
 *   boolean keys become --flag / --no-flag; the description is the schema's `.describe()` text;
 *   a value is checked by the key's own schema and a rejection names the flag, e.g.
 *   `--dropout expects a number in [0, 1), got "1.5"`.
 * Defaults are shown in --help but not applied by commander (`undefined` means "not given"), so the
 * caller can layer presets and saved configs under explicit flags, then parse with the schema.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { settingFlag } from '../../src-shared/encoder-config.ts';

/** `gradClip` → `--grad-clip`. */
export const flagOf = settingFlag;

interface FieldInfo {
  kind: 'number' | 'boolean' | 'enum' | 'string';
  defaultValue: unknown;
  description: string;
  choices?: string[];
  inner: z.ZodType;
}

/** What a field schema is: unwraps default/optional wrappers (zod 4's public `def`). */
function describeField(schema: z.ZodType): FieldInfo {
  let s = schema as z.ZodType & { def: Record<string, unknown>; description?: string };
  // The default is what the schema makes of a missing value.
  const parsedMissing = schema.safeParse(undefined);
  const defaultValue: unknown = parsedMissing.success ? parsedMissing.data : undefined;
  const description = s.description ?? '';
  for (;;) {
    const def = s.def as {
      type: string;
      innerType?: z.ZodType;
      defaultValue?: unknown;
      entries?: Record<string, string>;
    };
    if (def.type === 'default') s = def.innerType as typeof s;
    else if (def.type === 'optional') s = def.innerType as typeof s;
    else if (def.type === 'enum')
      return {
        kind: 'enum',
        defaultValue,
        description: description || (s.description ?? ''),
        choices: Object.values(def.entries ?? {}),
        inner: s,
      };
    else if (def.type === 'number' || def.type === 'boolean' || def.type === 'string')
      return { kind: def.type, defaultValue, description: description || (s.description ?? ''), inner: s };
    else throw new Error(`zod-options: unsupported schema type '${def.type}'`);
  }
}

/** The first issue's message of `value` against `schema`, or null when it passes. */
function problem(schema: z.ZodType, value: unknown): string | null {
  const r = schema.safeParse(value);
  return r.success ? null : (r.error.issues[0]?.message ?? 'is not valid');
}

/** One commander Option per key of `shape` (in declaration order). */
export function zodOptions(shape: Record<string, z.ZodType>): Option[] {
  const options: Option[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    const info = describeField(schema);
    const flag = flagOf(key);
    if (info.kind === 'boolean') {
      options.push(
        new Option(flag, `${info.description} (default: ${info.defaultValue === true ? 'on' : 'off'})`),
      );
      options.push(
        new Option(`--no-${flag.slice(2)}`, `turn ${flag} off`).hideHelp(info.defaultValue !== true),
      );
      continue;
    }
    // The default goes in the text, not commander's default: see the header.
    const shown = info.defaultValue === undefined ? '' : ` (default: ${JSON.stringify(info.defaultValue)})`;
    const opt = new Option(
      `${flag} <${info.kind === 'enum' ? 'name' : 'value'}>`,
      `${info.description}${shown}`,
    );
    if (info.choices) opt.choices(info.choices);
    else
      opt.argParser((raw: string) => {
        const value = info.kind === 'number' ? (raw.trim() === '' ? Number.NaN : Number(raw)) : raw;
        if (info.kind === 'number' && !Number.isFinite(value as number))
          throw new InvalidArgumentError(`${flag} expects a number, got "${raw}".`);
        const why = problem(info.inner, value);
        if (why) throw new InvalidArgumentError(`${flag} ${why}, got "${raw}".`);
        return value;
      });
    options.push(opt);
  }
  return options;
}

/** The keys of `shape` that commander parsed (undefined = not given), for the caller's merge. */
export function pickZodOptions<T extends Record<string, z.ZodType>>(
  shape: T,
  parsed: Record<string, unknown>,
): Partial<{ [K in keyof T]: z.infer<T[K]> }> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) if (parsed[key] !== undefined) out[key] = parsed[key];
  return out as Partial<{ [K in keyof T]: z.infer<T[K]> }>;
}
