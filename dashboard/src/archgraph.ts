export * from '../../src/report/plot/archgraph.js';
