// tfjs-core's Node bundle (tf-core.node.js) registers no gradients: the union
// package @tensorflow/tfjs inlines them in its own bundle, and tfjs-core's
// `dist/register_all_gradients.js` is ESM with extension-less imports that Node
// cannot load. Importing @rnode/core registers them: from source (Vitest,
// bundlers) through that file; in the published build, tsup inlines the
// gradient configs with their internal imports rewritten to tfjs-core's public
// API (see packages/core/tsup.config.ts), so one tfjs-core copy serves both.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
// The chained-op methods (`x.add(y)`), which tfjs users expect, likewise.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
