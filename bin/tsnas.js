#!/usr/bin/env node
// The installed CLI runs the compiled output; `npm run build` produces dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('tsnas: dist/ is missing; run `npm run build` (or scripts/setup) first\n');
  process.exit(2);
}
await import(entry);
