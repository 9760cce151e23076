// Vitest setup for every package: select the backend named by RNODE_BACKEND
// (one Vitest project per backend) before any test runs.
import { beforeAll } from 'vitest';
import { useBackend } from '../backends/index.js';

const name = process.env.RNODE_BACKEND ?? 'cpu';

beforeAll(async () => {
  await useBackend(name);
});
