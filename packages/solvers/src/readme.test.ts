// The README's custom-solver snippet must stay identical to src/examples/custom-solver.ts,
// which custom-solver.test.ts runs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('custom-solver snippet is the example file', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('./examples/custom-solver.ts', import.meta.url), 'utf8');
    const m = /<!-- custom-solver[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(readme);
    expect(m?.[1]).toBe(example.trimEnd());
  });
});
