/**
 * `node --import tsx bench/study-overhead-child.ts URL TRIALS`: bench/study.ts's per-trial store
 * overhead against the store at URL, printed as `ms_per_trial=N`. Run by study-hosts.ts inside a
 * test-bed host so that the store is reached over a veth link.
 */
import { openStore } from '../src/store/index.js';
import { overhead } from './study.js';

const [url, trials] = process.argv.slice(2);
if (url === undefined || trials === undefined) {
  console.error('usage: study-overhead-child.ts URL TRIALS');
  process.exit(2);
}
const store = await openStore(url);
try {
  console.log(`ms_per_trial=${await overhead(store, Number(trials))}`);
} finally {
  await store.close();
}
