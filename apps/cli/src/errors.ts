import { isRnodeError } from '@rnode/core';

/** A mistake on the command line or in a config file: exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An optional dependency that a command needs is not installed (exit status 1); the message says what to install. */
export class MissingPackageError extends Error {
  override readonly name = 'MissingPackageError';
}

/** RnodeError codes that mean the user asked for something that does not exist or is invalid. */
const USAGE_CODES = new Set(['INVALID_OPTIONS', 'PLUGIN_NOT_FOUND', 'INVALID_ARGUMENT']);

/** 2 for usage errors, 1 for everything that went wrong while running. */
export function exitCodeOf(e: unknown): 1 | 2 {
  if (e instanceof UsageError) return 2;
  if (isRnodeError(e) && USAGE_CODES.has(e.code)) return 2;
  return 1;
}

/** The one line a user sees (the `[rnode]` prefix of RnodeError is redundant after `rnode:`). */
export function messageOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/^\[rnode\]\s*/, '');
}
