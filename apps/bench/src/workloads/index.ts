import type { Workload } from '../types.js';
import { solvers } from './solvers.js';
import { toy2dRnode } from './toy2d-rnode.js';
import { toy2dFfjord } from './toy2d-ffjord.js';
import { toy2dQuality } from './toy2d-quality.js';
import { cifarIter, mnistIter } from './image-iter.js';
import { adjointMemory, adjointMemoryImage } from './adjoint-memory.js';

/** Every workload, in the order --help lists them. */
export const WORKLOADS: readonly Workload[] = [solvers, toy2dRnode, toy2dFfjord, toy2dQuality, mnistIter, cifarIter, adjointMemory, adjointMemoryImage];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
