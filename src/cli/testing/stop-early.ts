/**
 * Test helper: runs one CLI command (`run`, as `tsnas` does) in this process and sends the process
 * a signal right after the command has started, before it has printed anything:
 * `node --import tsx stop-early.ts SIGTERM finetune MODEL --out DIR`. Its exit code is the CLI's
 * (130 when the signal stopped it). For the tests of what a command says when it is stopped early.
 */
import { run } from '../main.js';

const [sig, ...argv] = process.argv.slice(2);
const done = run(argv);
process.kill(process.pid, sig as NodeJS.Signals);
process.exitCode = await done;
