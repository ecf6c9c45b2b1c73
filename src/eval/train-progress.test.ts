import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleProgress } from './train-progress.js';

function fakeStream(): { s: NodeJS.WriteStream; out: string[] } {
  const out: string[] = [];
  return { s: { write: (x: string) => (out.push(x), true) } as unknown as NodeJS.WriteStream, out };
}

test('progress: plain lines per epoch off a TTY, no bar redraws', () => {
  const { s, out } = fakeStream();
  const p = consoleProgress('mlp', s, false);
  for (let b = 1; b <= 10; b++) p.batch(1, 2, b, 10, 0.5);
  p.epoch(1, 2, { train_loss: 0.5, val_acc: 90.5, lr: 0.1 }, 1.5);
  p.done();
  assert.deepEqual(out, ['mlp epoch 1/2 train_loss 0.5000 val_acc 90.5000 (1.5s)\n']);
});

test('progress: on a TTY a bar redrawn in place, cleared before the epoch line', () => {
  const { s, out } = fakeStream();
  const p = consoleProgress('cnn', s, true);
  p.batch(1, 1, 10, 10, 0.25);
  p.epoch(1, 1, { train_loss: 0.25 }, 2);
  assert.equal(out.length, 2);
  assert.match(out[0]!, /^\rcnn epoch 1\/1 \[=+\] 10\/10 loss 0\.2500/);
  assert.ok(out[1]!.startsWith('\r\x1b[K'));
});
