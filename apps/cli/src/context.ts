import type { Io } from './io.js';

export interface CommandContext {
  io: Io;
  version: string;
}
