/**
 * Options objects as schemas: one `zod/mini` object schema per options object gives both the
 * TypeScript type (`z.input<typeof schema>`) and the run-time check (`parseOptions`). The
 * schema library is zod 4's tree-shakable functional build, the same zod the CLI uses for its
 * config files, so a CLI schema can embed a library schema (mini and classic schemas share
 * `zod/v4/core`). Measurements behind the choice: docs/ARCHITECTURE.md.
 */
import * as z from 'zod/mini';
import { RnodeError, describe, type RnodeErrorCode } from './errors.js';
import type { PerComponent } from './state.js';

/** What a number option must be; the same constraints and words as `checkNumber`. */
export type NumberConstraint = 'any' | 'positive' | 'non-negative' | 'integer>0' | 'integer>=0';

const NUMBER_WANT: Record<NumberConstraint, string> = {
  any: 'a finite number',
  positive: 'a positive number',
  'non-negative': 'a non-negative number',
  'integer>0': 'a positive integer',
  'integer>=0': 'a non-negative integer',
};

function isNumberWith(v: unknown, c: NumberConstraint): v is number {
  if (typeof v !== 'number' || Number.isNaN(v)) return false;
  switch (c) {
    case 'any':
      return Number.isFinite(v);
    case 'positive':
      return v > 0;
    case 'non-negative':
      return v >= 0;
    case 'integer>0':
      return Number.isInteger(v) && v > 0;
    case 'integer>=0':
      return Number.isInteger(v) && v >= 0;
  }
}

/**
 * A number field. Unlike `z.number()` (which refuses ±Infinity), 'positive' and
 * 'non-negative' accept Infinity, as `checkNumber` does (`maxStep: Infinity` is odeint's
 * default); 'any' means finite.
 */
export function numberOption(constraint: NumberConstraint = 'any'): z.ZodMiniCustom<number, number> {
  return z.custom<number>((v) => isNumberWith(v, constraint), { error: NUMBER_WANT[constraint] });
}

/** A function field (`z.function()` is not a schema in zod 4.0's mini API): typed by `F`. */
export function functionOption<F extends (...args: never[]) => unknown>(what = 'a function'): z.ZodMiniCustom<F, F> {
  return z.custom<F>((v) => typeof v === 'function', { error: what });
}

/**
 * A per-component field (`PerComponent<T>`: one value, a list for tuple states, a record for
 * record states); each value must pass `isValue`. Whether the list's length or the record's
 * keys fit the state is checked later, by `perLeaf`, which knows the state.
 */
export function perComponentOption<T>(isValue: (x: unknown) => x is T, what: string): z.ZodMiniCustom<PerComponent<T>, PerComponent<T>> {
  return z.custom<PerComponent<T>>(
    (v) =>
      isValue(v) ||
      (Array.isArray(v) ? v.every(isValue) : typeof v === 'object' && v !== null && Object.values(v).every(isValue)),
    { error: `${what}, or one per component (a list for a tuple state, a record for a record state)` },
  );
}

/** An object schema of options; `parseOptions` takes one. */
export type OptionsSchema = z.ZodMiniObject;

const AN = new Set(['array', 'object', 'int', 'integer']);
const an = (w: string) => `${AN.has(w) ? 'an' : 'a'} ${w === 'int' ? 'integer' : w}`;
const bound = (iss: { origin: string; inclusive?: boolean }, dir: '>' | '<', v: number | bigint) => {
  if (iss.origin === 'array') return `${dir === '>' ? 'at least' : 'at most'} ${v} item${v === 1 ? '' : 's'}`;
  if (iss.origin === 'string') return `${dir === '>' ? 'at least' : 'at most'} ${v} character${v === 1 ? '' : 's'}`;
  return `a number ${dir}${iss.inclusive ? '=' : ''} ${v}`;
};

/** The words after `must be` for an issue whose schema gave no message of its own. */
function issueText(iss: z.core.$ZodRawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      return an(iss.expected);
    case 'too_small':
      return bound(iss, '>', iss.minimum);
    case 'too_big':
      return bound(iss, '<', iss.maximum);
    case 'invalid_value': {
      const vs = iss.values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
      return vs.length === 1 ? (vs[0] as string) : `${vs.slice(0, -1).join(', ')} or ${vs[vs.length - 1]}`;
    }
    case 'not_multiple_of':
      return `a multiple of ${iss.divisor}`;
    case 'unrecognized_keys': // a nested z.strictObject
      return `without the unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    default:
      return 'valid';
  }
}

// One context object for every parse: the error map makes messages independent of any zod
// locale the application may have configured (importing classic `zod` loads English).
const CONTEXT = { error: issueText } as const;

function valueAt(o: unknown, path: readonly PropertyKey[]): unknown {
  let v = o;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

/**
 * Validate an options object once, at the boundary, against its schema and return it typed:
 * - not an object → INVALID_OPTIONS `options must be an object, got …`;
 * - unknown keys (present and not undefined) → INVALID_OPTIONS naming them and listing the
 *   known ones (a typo such as `rtoll` must not be ignored);
 * - a field of the wrong type or out of range → INVALID_OPTIONS
 *   `option "rtol" must be a non-negative number, got -1` (`details.option` is the key).
 * Returns a new object holding the parsed present fields (and defaults, if a schema has any).
 * Nothing is allocated before this returns, so a bad option costs no tensors. `code` is
 * INVALID_OPTIONS unless given (a config read back from a checkpoint: INVALID_CHECKPOINT).
 * Cross-field rules (minStep ≤ maxStep, rules that need the state or a resolved plugin) stay
 * with the code that knows them.
 */
export function parseOptions<S extends OptionsSchema>(
  schema: S,
  options: unknown,
  source: string,
  code: RnodeErrorCode = 'INVALID_OPTIONS',
): z.output<S> {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new RnodeError(code, `options must be an object, got ${describe(o)}`, { source });
  }
  const input = o as Record<string, unknown>;
  const shape = schema.def.shape as Record<string, z.ZodMiniType>;
  let unknown: string[] | undefined;
  for (const k in input) {
    if (!Object.hasOwn(shape, k) && Object.hasOwn(input, k) && input[k] !== undefined) (unknown ??= []).push(k);
  }
  if (unknown !== undefined) {
    throw new RnodeError(
      code,
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; known options: ${Object.keys(shape).join(', ')}`,
      { source },
    );
  }
  // `at` is the schema that failed on `value`, `prefix` the path to it (none: the whole object).
  const fail = (at: z.ZodMiniType, value: unknown, prefix: PropertyKey[]): never => {
    // Parsed again with the error map only on failure (a parse context costs ~2 µs a call).
    const issue = at.safeParse(value, CONTEXT).error?.issues[0] as z.core.$ZodIssue | undefined;
    const path = [...prefix, ...(issue?.path ?? [])];
    const option = pathText(path);
    throw new RnodeError(code, `option "${option}" must be ${issue?.message ?? 'valid'}, got ${describe(valueAt(o, path))}`, {
      source,
      details: { option },
    });
  };
  const plan = planFor(schema);
  if (plan.whole) {
    const r = schema.safeParse(input);
    return r.success ? r.data : fail(schema, input, []);
  }
  // Field by field, present keys only: a 16-key options object with 3 keys set costs ~0.5 µs
  // here, ~4 µs through the object schema (which visits every key).
  const out: Record<string, unknown> = {};
  for (const k in input) {
    const v = input[k];
    if (v === undefined || !Object.hasOwn(input, k)) continue;
    const field = shape[k] as z.ZodMiniType;
    const r = field.safeParse(v);
    if (!r.success) fail(field, v, [k]);
    out[k] = r.data;
  }
  for (const k of plan.absent) {
    if (input[k] !== undefined) continue;
    const field = shape[k] as z.ZodMiniType;
    const r = field.safeParse(undefined);
    if (!r.success) fail(field, undefined, [k]);
    if (r.data !== undefined) out[k] = r.data;
  }
  return out as z.output<S>;
}

interface Plan {
  /** The schema has object-level checks: parse it whole. */
  whole: boolean;
  /** Keys whose schema must see an absent value (required fields, defaults). */
  absent: string[];
}

const PLANS = new WeakMap<OptionsSchema, Plan>();

function planFor(schema: OptionsSchema): Plan {
  let plan = PLANS.get(schema);
  if (plan === undefined) {
    const shape = schema.def.shape as Record<string, z.ZodMiniType>;
    const absent = Object.keys(shape).filter((k) => {
      const r = (shape[k] as z.ZodMiniType).safeParse(undefined);
      return !r.success || r.data !== undefined;
    });
    plan = { whole: (schema.def.checks?.length ?? 0) > 0, absent };
    PLANS.set(schema, plan);
  }
  return plan;
}

/** The keys a schema knows, in declaration order (for help texts and CLI flag lists). */
export function optionKeys<S extends OptionsSchema>(schema: S): Array<keyof z.output<S> & string> {
  return Object.keys(schema.def.shape) as Array<keyof z.output<S> & string>;
}
