import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import { Tensor, getNumThreads, liveTensors, setNumThreads } from './index.js';
import { native } from './native.js';
import { ThreadChoice, threadCandidates } from './thread-choice.js';

/** A clock whose every reading advances by cost(threads now): a call timed between two readings "takes" cost(threads). */
function fakeClock(cost: (threads: number) => number): () => number {
  let t = 0;
  return () => (t += cost(getNumThreads()));
}

test('threadCandidates: the threads set, halved down to 1', () => {
  assert.deepEqual(threadCandidates(1), [1]);
  assert.deepEqual(threadCandidates(2), [2, 1]);
  assert.deepEqual(threadCandidates(3), [3, 1]);
  assert.deepEqual(threadCandidates(8), [8, 4, 2, 1]);
  assert.deepEqual(threadCandidates(6), [6, 3, 1]);
});

test('ThreadChoice: the fastest candidate by the clock is kept per (batch, threads set) key; calls run with it and the threads set are restored', () => {
  const prev = getNumThreads();
  const before = liveTensors();
  try {
    for (const [fast, want] of [[1, 1], [4, 4], [2, 2]] as const) {
      setNumThreads(4);
      const calls: number[] = [];
      const tc = new ThreadChoice({ runs: 3, now: fakeClock((t) => (t === fast ? 1 : 10)) });
      const call = () => {
        calls.push(getNumThreads());
        return Tensor.zeros([2]); // a result the calibration must dispose
      };
      const y = tc.run(1, call);
      y.dispose();
      assert.deepEqual([...tc.choices()], [['1@4', want]], `fastest at ${fast}`);
      // Calibration: (2 untimed + 3 timed) rounds over [4, 2, 1], then the real call with the choice.
      assert.equal(calls.length, 5 * 3 + 1);
      assert.deepEqual(calls.slice(0, 3), [4, 2, 1], 'candidates interleaved round by round');
      assert.equal(calls[calls.length - 1], want);
      assert.equal(getNumThreads(), 4, 'the threads set are restored');
      // Known key: one call, no calibration.
      tc.run(1, call).dispose();
      assert.equal(calls.length, 5 * 3 + 2);
      assert.equal(calls[calls.length - 1], want);
      // Another key (batch 2 with 2 threads set) is calibrated on its own.
      setNumThreads(2);
      tc.run(2, call).dispose();
      assert.equal(tc.choices().size, 2);
      assert.equal(tc.choices().get('2@2'), fast === 1 ? 1 : 2);
      assert.equal(getNumThreads(), 2);
    }
  } finally {
    setNumThreads(prev);
  }
  assert.equal(liveTensors(), before, 'calibration results disposed');
});

test('ThreadChoice: ties keep the threads set; no choice with one thread or above maxBatch; the threads set are restored when the call throws', () => {
  const prev = getNumThreads();
  try {
    setNumThreads(2);
    const tie = new ThreadChoice({ runs: 3, now: fakeClock(() => 1) });
    tie.run(1, () => 0);
    assert.equal(tie.choices().get('1@2'), 2);
    let n = 0;
    const counted = new ThreadChoice({ maxBatch: 4, now: fakeClock((t) => t) });
    counted.run(5, () => n++);
    assert.equal(n, 1, 'batch 5 > maxBatch 4: one plain call');
    setNumThreads(1);
    counted.run(1, () => n++);
    assert.equal(n, 2, 'one thread set: one plain call');
    assert.equal(counted.choices().size, 0);
    setNumThreads(2);
    const slow2 = new ThreadChoice({ runs: 1, now: fakeClock((t) => (t === 1 ? 1 : 5)) });
    slow2.run(1, () => 0);
    assert.throws(() =>
      slow2.run(1, () => {
        throw new Error('boom');
      }),
    );
    assert.equal(getNumThreads(), 2, 'restored after a failed call');
    assert.throws(() => new ThreadChoice({ maxBatch: 0 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'maxBatch');
    assert.throws(() => new ThreadChoice({ runs: 1.5 }), (e: unknown) => isNasError(e, 'invalid_config') && e.field === 'runs');
  } finally {
    setNumThreads(prev);
  }
});

test('native callThreads: sets the calling thread\'s intra-op count (what getNumThreads reads) and returns the previous one', () => {
  const prev = getNumThreads();
  try {
    setNumThreads(2);
    assert.equal(native.callThreads(1), 2);
    assert.equal(getNumThreads(), 1);
    const y = Tensor.ones([64, 64]).matmul(Tensor.ones([64, 64]));
    assert.equal((y.sum().item() as number), 64 * 64 * 64, 'ops run at the narrowed count');
    y.dispose();
    assert.equal(native.callThreads(2), 1);
    assert.equal(getNumThreads(), 2);
    assert.throws(() => native.callThreads(0), (e: unknown) => isNasError(e, 'invalid_config'));
  } finally {
    setNumThreads(prev);
  }
});
