// The odeint-only browser bundle whose size docs/ARCHITECTURE.md quotes (Options paragraph). After a build:
// esbuild apps/bench/scripts/odeint-bundle-entry.mjs --bundle --minify --format=esm --platform=browser --outfile=/tmp/b.js
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@rnode/core';
import { cpuBackend } from '@rnode/core/backends/cpu';
import { odeint } from '@rnode/solvers';
await useBackend(cpuBackend);
const y0 = tf.scalar(1);
const sol = odeint((t, y) => tf.neg(y), y0, [0, 1], { method: 'dopri5', rtol: 1e-5, atol: 1e-5 });
console.log(sol.stats);
