export { checkSolver, defaultSteps, measureSolve } from './check-solver.js';
export type { CheckSolverOptions, CheckSolverReport, MeasureResult } from './check-solver.js';
export { polynomialProblem, sineProblem, rationalProblem, quadraticProblem, linearProblem, expm } from './problems.js';
export type { TestProblem } from './problems.js';
