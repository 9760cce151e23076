// Small flows and data for this package's tests (not exported).
import { Random } from '@rnode/core';
import { createFlow, type Flow } from '@rnode/models';

export function smallFlow(seed = 0, hidden: number[] = [16, 16]): Flow {
  return createFlow({ dim: 2, hidden, layer: 'concatsquash', activation: 'tanh', zeroLast: 'none' }, new Random(seed));
}
