// The chart computations live in src/report/analysis.ts, shared with the static reports.
export * from '../../src/report/analysis.js';
