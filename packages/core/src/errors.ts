/**
 * One error type for the whole project. `code` is a literal union so callers can
 * branch on it; `isRnodeError` checks a global brand rather than `instanceof`,
 * because the ESM and CJS builds (or two installed copies) hold distinct classes.
 */
export type RnodeErrorCode =
  | 'PLUGIN_CONFLICT'
  | 'PLUGIN_NOT_FOUND'
  | 'INVALID_PLUGIN'
  | 'INVALID_OPTIONS'
  | 'INVALID_ARGUMENT'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_NOT_INITIALIZED'
  | 'SYNC_READ_UNAVAILABLE'
  | 'MAX_STEPS_REACHED'
  | 'STEP_SIZE_UNDERFLOW'
  | 'NON_FINITE'
  | 'SHAPE_MISMATCH'
  | 'NOT_IMPLEMENTED'
  | 'IO_ERROR'
  | 'INVALID_DATA'
  | 'INVALID_CHECKPOINT';

const BRAND = Symbol.for('rnode.error');

export interface RnodeErrorOptions {
  /** What the error is about, e.g. `solver:dopri5`, `option:rtol`, `file:data.csv`. */
  readonly source?: string;
  readonly cause?: unknown;
  /** Extra machine-readable facts (the time at which a solve failed, say). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class RnodeError extends Error {
  readonly code: RnodeErrorCode;
  readonly source: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  declare readonly [BRAND]: true;

  constructor(code: RnodeErrorCode, message: string, options: RnodeErrorOptions = {}) {
    const where = options.source ? ` [${options.source}]` : '';
    super(`[rnode]${where} ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RnodeError';
    this.code = code;
    this.source = options.source;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

export function isRnodeError(e: unknown, code?: RnodeErrorCode): e is RnodeError {
  if (typeof e !== 'object' || e === null) return false;
  const branded = (e as Record<symbol, unknown>)[BRAND] === true || (e as { name?: unknown }).name === 'RnodeError';
  return branded && (code === undefined || (e as RnodeError).code === code);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}

/** Throw INVALID_OPTIONS unless `v` is a finite number (optionally > 0 / >= 0). */
export function checkNumber(
  v: unknown,
  name: string,
  source: string,
  constraint: 'any' | 'positive' | 'non-negative' | 'integer>0' = 'any',
): number {
  const ok =
    typeof v === 'number' &&
    !Number.isNaN(v) &&
    (constraint === 'any'
      ? Number.isFinite(v)
      : constraint === 'positive'
        ? v > 0
        : constraint === 'non-negative'
          ? v >= 0
          : Number.isInteger(v) && v > 0);
  if (!ok) {
    const want = constraint === 'any' ? 'a finite number' : constraint === 'integer>0' ? 'a positive integer' : `a ${constraint} number`;
    throw new RnodeError('INVALID_OPTIONS', `option "${name}" must be ${want}, got ${describe(v)}`, { source });
  }
  return v as number;
}
