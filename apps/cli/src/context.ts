import type { Io } from './io.js';

export interface CommandContext {
  io: Io;
  version: string;
  /** The command line after `rnode` (to print the command that resumes an interrupted run). */
  argv?: readonly string[];
}
