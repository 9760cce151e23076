// That the README's block is this file is checked by tests/readme (`source=`).
import { expect, test, vi } from 'vitest';
import { trainToy } from './train-toy.js';

test('the README example runs (a few iterations)', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const points = await trainToy(2);
  log.mockRestore();
  expect(points).toHaveLength(500);
  expect(points.every((p) => p.length === 2 && p.every(Number.isFinite))).toBe(true);
});
