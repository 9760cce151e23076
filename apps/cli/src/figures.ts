/** Figures of the CLI, drawn with the plotting functions of ./plot. */
import { RnodeError } from '@rnode/core';
import type { SampleResult } from './engine.js';

export async function samplesPng(_s: SampleResult): Promise<Uint8Array> {
  throw new RnodeError('NOT_IMPLEMENTED', 'PNG output needs the plotting functions (src/plot)');
}

export interface PlotRequest {
  checkpoint: string;
  backend: string;
  seed: number;
  grid: number;
  samples: number;
  particles: number;
  out?: string;
  compare?: string;
  data?: string;
}

export async function plotFigures(_r: PlotRequest): Promise<string[]> {
  throw new RnodeError('NOT_IMPLEMENTED', 'plotting needs the plotting functions (src/plot)');
}
