import { rnodeVitest } from '../../vitest.shared.js';

export default rnodeVitest(import.meta.dirname);
