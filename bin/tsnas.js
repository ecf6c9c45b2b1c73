#!/usr/bin/env node
// The installed CLI runs the compiled output; `npm run build` produces dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('tsnas: dist/ is missing; run `npm run build` (or scripts/setup) first\n');
  process.exit(2);
}
// The CLI runs because this file says so, not because of the name it was started by (a symlink
// such as node_modules/.bin/tsnas must run it too).
const { runProcess } = await import(entry);
await runProcess(process.argv.slice(2));
