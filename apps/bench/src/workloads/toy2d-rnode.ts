import { toyIterationWorkload } from './toy2d.js';

/** WORKLOADS.md toy2d-rnode: rk38 step 0.25, backsolve on the same grid, λK = λJ = 0.01 (summed over dims). */
export const toy2dRnode = toyIterationWorkload(
  'rnode',
  'one training iteration of the 2-D RNODE flow (pinwheel, batch 512, rk38 step 0.25, KE + JF 0.01): median s/iter over 50 after 5 warm-up',
);
