// `#tfjs-gradients` for bundlers (browsers): tfjs-core's own ESM gradient and chained-op
// registrations. A bundle already holds tfjs-core's ESM build, so these modules share its
// internals (engine, tensor, kernel names) instead of carrying rnode's inlined copies.
// tfjs-core lists both files under `sideEffects`, so bundlers keep them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
