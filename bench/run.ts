/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, whose default export is `(argv) => Promise<void>`.
 * Each benchmark measures tsnas against a peer in the same run and prints the ratio.
 */
import { readdirSync } from 'node:fs';

const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [options]\n  NAME: one of ${available.join(', ') || '(none yet)'}`);
  process.exit(2);
}
const mod = (await import(`./${name}.ts`)) as { default: (argv: string[]) => Promise<void> };
await mod.default(rest);
