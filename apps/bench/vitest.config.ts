import { rnodeVitest } from '../../vitest.shared.js';

// One project per backend (RNODE_BACKEND); each test runs the workloads on that backend. The runs
// go through the built bench (dist/bench.js, the child entry), which `pnpm test` builds first.
export default rnodeVitest(import.meta.dirname, { testTimeout: 300_000 });
