import * as z from 'zod/mini';

/** A file name for error messages; optional at run time (each reader has its own fallback). */
export const sourceOption = z.custom<string>((v) => v === undefined || typeof v === 'string', { error: 'a string (a file name)' });
