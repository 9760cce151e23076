import { readFileSync } from 'node:fs';
import { expect, test, vi } from 'vitest';
import { trainToy } from './train-toy.js';

test('the README example is this file, verbatim', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const file = readFileSync(new URL('./train-toy.ts', import.meta.url), 'utf8');
  expect(readme).toContain('```ts\n' + file + '```');
});

test('the README example runs (a few iterations)', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const points = await trainToy(2);
  log.mockRestore();
  expect(points).toHaveLength(500);
  expect(points.every((p) => p.length === 2 && p.every(Number.isFinite))).toBe(true);
});
