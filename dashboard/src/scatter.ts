export * from '../../src/report/plot/scatter.js';
