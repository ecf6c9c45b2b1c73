/**
 * Benchmark helper (excluded from the build): serves a dashboard in a process of its own, as
 * `tsnas dashboard` does, so that a browser driven from another process (bench/dashboard.ts)
 * measures the page and the server, not one Node event loop shared by the server and the driver.
 * argv: storage url, assets dir, warm (`true`/`false`). Prints `{"url": ...}` on one line once
 * listening; closes when its stdin ends.
 */
import { startDashboard } from '../index.js';

const [storage, assetsDir, warm] = process.argv.slice(2);
const dash = await startDashboard({ storage: storage!, assetsDir: assetsDir!, port: 0, warm: warm === 'true' });
process.stdout.write(`${JSON.stringify({ url: dash.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void dash.close().then(() => process.exit(0)));
