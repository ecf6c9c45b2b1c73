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
let cli;
try {
  cli = await import(entry);
} catch (e) {
  // Loading the CLI loads the libtorch addon: a set-up problem (not built yet, libtorch missing) is
  // one line naming the fix, exit 2, as the CLI's own input errors are, not a stack trace.
  if (e instanceof Error && e.name === 'NasError') {
    process.stderr.write(`tsnas: error [${e.code}]: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
await cli.runProcess(process.argv.slice(2));
