/** Where a command writes. `main` takes one so tests can capture output in-process. */
export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

export const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr });

/** Common flags of every command. */
export interface GlobalFlags {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}
