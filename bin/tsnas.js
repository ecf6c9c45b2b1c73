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
// Ctrl-C or SIGTERM while the CLI loads (the libtorch addon takes a moment on a busy machine) is
// said, not silent; once a command runs, it says what it stopped (src/cli/main.ts STOP_NOTICES).
const starting = (sig) => {
  process.stderr.write(`\ntsnas: ${sig}: stopped while starting; nothing was done\n`);
  process.exit(130);
};
process.on('SIGINT', starting);
process.on('SIGTERM', starting);
let cli;
try {
  cli = await import(entry);
  process.off('SIGINT', starting);
  process.off('SIGTERM', starting);
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
