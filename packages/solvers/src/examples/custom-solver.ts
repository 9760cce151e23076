import { defineSolver, rungeKutta } from '@rnode/solvers';

// Ralston's 2nd-order method from a step function: y0, k1, k2 are lists of leaves,
// linearCombination(base, [[coef, k], ...]) = base + Σ coef·k, leaf by leaf (any state shape).
export const ralston2 = defineSolver({
  name: 'ralston2',
  order: 2,
  adaptive: false,
  step({ f, t0, y0, dt, linearCombination }) {
    const k1 = f(t0, y0);
    const k2 = f(t0 + (2 / 3) * dt, linearCombination(y0, [[(2 / 3) * dt, k1]]));
    return { y1: linearCombination(y0, [[0.25 * dt, k1], [0.75 * dt, k2]]) };
  },
});

// The same method from its Butcher tableau.
export const ralston2Tableau = rungeKutta({
  name: 'ralston2-tableau',
  order: 2,
  tableau: { a: [[2 / 3]], b: [1 / 4, 3 / 4], c: [0, 2 / 3] },
});

declare module '@rnode/core' {
  interface SolverRegistry {
    ralston2: true;
  }
}
