import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNasError } from '../core/errors.js';
import {
  Generator,
  Tensor,
  conv2d,
  crossEntropy,
  getNumThreads,
  keep,
  liveTensors,
  noGrad,
  isGradEnabled,
  scopeDepth,
  setNumThreads,
  tidy,
  clipGradNorm,
  gradNorm,
} from './index.js';
import { native } from './native.js';

test('fromArray / to*Array round-trip for each dtype', () => {
  tidy(() => {
    const f = Tensor.fromArray([1.5, -2, 3], [3]);
    assert.equal(f.dtype, 'float32');
    assert.deepEqual([...f.toFloat32Array()], [1.5, -2, 3]);
    const i = Tensor.fromArray([1, -2, 3, 4], [2, 2], 'int64');
    assert.equal(i.dtype, 'int64');
    assert.deepEqual(i.shape, [2, 2]);
    assert.deepEqual([...i.toBigInt64Array()], [1n, -2n, 3n, 4n]);
    assert.deepEqual(i.toNested(), [[1, -2], [3, 4]]);
    const b = Tensor.fromArray([true, false, true], [3], 'bool');
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(b.toArray(), [1, 0, 1]);
    assert.deepEqual([...Tensor.fromArray(new BigInt64Array([5n, 6n])).toInt32Array()], [5, 6]);
    assert.equal(Tensor.scalar(2.5).item(), 2.5);
    assert.deepEqual(Tensor.from([[1, 2, 3], [4, 5, 6]]).shape, [2, 3]);
    assert.deepEqual(Tensor.arange(4).toArray(), [0, 1, 2, 3]);
    assert.equal(Tensor.arange(0, 1, 0.25).dtype, 'float32');
    assert.equal(f.to('int64').dtype, 'int64');
  });
});

test('bad shapes are NasErrors naming the op and the input shapes, and the process survives', () => {
  tidy(() => {
    const a = Tensor.zeros([2, 3]);
    const b = Tensor.zeros([4, 5]);
    assert.throws(
      () => a.matmul(b),
      (e: unknown) => isNasError(e, 'shape_mismatch') && /matmul/.test(e.message) && e.message.includes('[2,3]') && e.message.includes('[4,5]'),
    );
    assert.throws(() => a.add(Tensor.zeros([3, 2])), (e: unknown) => isNasError(e) && /add/.test(e.message) && e.message.includes('[3,2]'));
    assert.throws(() => conv2d(Tensor.zeros([1, 3, 8, 8]), Tensor.zeros([4, 2, 3, 3])), (e: unknown) => isNasError(e, 'shape_mismatch') && /conv2d/.test(e.message));
    assert.throws(() => a.reshape([7]), (e: unknown) => isNasError(e, 'shape_mismatch') && /reshape/.test(e.message));
    assert.throws(() => Tensor.fromArray([1, 2, 3], [2, 2]), (e: unknown) => isNasError(e, 'shape_mismatch'));
    // bad dtype: cross-entropy with float targets of the wrong shape, int64 input to a float-only op
    assert.throws(() => crossEntropy(Tensor.zeros([2, 3]), Tensor.zeros([2], 'bool')), (e: unknown) => isNasError(e) && /crossEntropy/.test(e.message));
    assert.throws(() => Tensor.arange(4).requiresGrad_(), (e: unknown) => isNasError(e, 'native_error') && /requiresGrad/.test(e.message));
    assert.throws(
      () => a.matmul(Tensor.zeros([3, 2], 'int64')),
      (e: unknown) => isNasError(e) && /matmul/.test(e.message) && e.message.includes('Long'),
    );
    // still alive and computing
    assert.equal(a.add(1).sum().item(), 6);
  });
});

test('tidy disposes intermediates, keeps results and kept tensors; dispose is idempotent', () => {
  const before = liveTensors();
  const kept = Tensor.ones([2]);
  const [r, k] = tidy(() => {
    const x = Tensor.ones([3]);
    const y = x.mul(2).add(1);
    const k2 = keep(Tensor.zeros([1]));
    return [y.sum(), k2];
  });
  assert.equal(r!.item(), 9);
  assert.equal(scopeDepth(), 0);
  assert.equal(liveTensors(), before + 3);
  r!.dispose();
  r!.dispose();
  k!.dispose();
  kept.dispose();
  assert.equal(liveTensors(), before);
  assert.throws(() => r!.add(1), (e: unknown) => isNasError(e, 'disposed'));
  // nested: the inner result moves to the outer scope and is freed there
  tidy(() => {
    const inner = tidy(() => Tensor.ones([2]).add(1));
    assert.equal(inner.isDisposed, false);
    assert.equal(liveTensors(), before + 1);
  });
  assert.equal(liveTensors(), before);
  // a throwing fn still frees its scope
  assert.throws(() => tidy(() => { Tensor.ones([5]); throw new Error('boom'); }), /boom/);
  assert.equal(liveTensors(), before);
  // objects and arrays of tensors survive
  const o = tidy(() => ({ a: Tensor.ones([1]), b: [Tensor.zeros([1])], n: 3 }));
  assert.equal(o.a.isDisposed || o.b[0]!.isDisposed, false);
  o.a.dispose();
  o.b[0]!.dispose();
  assert.throws(() => tidy(() => Promise.resolve(1)), (e: unknown) => isNasError(e, 'internal'));
});

test('autograd: requiresGrad, backward, grad, zeroGrad, detach, noGrad', () => {
  tidy(() => {
    const w = Tensor.fromArray([1, 2, 3]).requiresGrad_();
    assert.equal(w.requiresGrad, true);
    assert.equal(w.isLeaf, true);
    assert.equal(w.grad, undefined);
    const loss = w.mul(w).sum();
    loss.backward();
    assert.deepEqual(w.grad!.toArray(), [2, 4, 6]);
    w.mul(3).sum().backward(); // accumulates
    assert.deepEqual(w.grad!.toArray(), [5, 7, 9]);
    w.zeroGrad();
    assert.equal(w.grad, undefined);
    assert.equal(w.detach().requiresGrad, false);
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      return w.mul(2);
    });
    assert.equal(isGradEnabled(), true);
    assert.equal(y.requiresGrad, false);
    const z = w.mul(2).sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    assert.deepEqual(w.grad!.toArray(), [4, 4, 4]);
    assert.ok(Math.abs(gradNorm([w]) - Math.sqrt(48)) < 1e-5);
    const n = clipGradNorm([w], 1);
    assert.ok(Math.abs(n - Math.sqrt(48)) < 1e-5);
    assert.ok(Math.abs(gradNorm([w]) - 1) < 1e-4);
  });
});

test('generators are seeded and independent; state round-trips', () => {
  tidy(() => {
    const a = new Generator(42), b = new Generator(42);
    assert.deepEqual(a.randn([5]).toArray(), b.randn([5]).toArray());
    const s = a.state();
    const x = a.rand([4]).toArray();
    a.setState(s);
    assert.deepEqual(a.rand([4]).toArray(), x);
    a.manualSeed(1);
    b.manualSeed(2);
    assert.notDeepEqual(a.randn([5]).toArray(), b.randn([5]).toArray());
    const p = new Generator(3).randperm(10).toArray().sort((u, v) => u - v);
    assert.deepEqual(p, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.throws(() => new Generator(-1), (e: unknown) => isNasError(e, 'invalid_config'));
  });
});

test('thread count control', () => {
  const n = getNumThreads();
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  setNumThreads(n);
  assert.throws(() => setNumThreads(0), (e: unknown) => isNasError(e, 'invalid_config'));
});

test('external memory: V8 is told about GC-owned tensors only, and told again when they are freed', () => {
  // process.memoryUsage().external does not include napi_adjust_external_memory in Node 20, so ask V8's counter itself.
  const ext = (): number => native.externalMemory();
  const MB4 = 1 << 20; // 1M float32 = 4 MiB
  const base = ext();
  // Inside a scope: freed deterministically, so not reported (short-lived activations would
  // otherwise make V8 start a major GC every training step).
  tidy(() => {
    Tensor.zeros([MB4]).add(1);
    assert.ok(ext() - base < 1 << 20, `in-scope tensors reported: +${ext() - base} bytes`);
  });
  // Outside every scope (and results leaving the outermost scope): owned by the GC backstop, reported.
  const free = Tensor.zeros([MB4]);
  assert.ok(ext() - base >= 4 * MB4, `outside-scope tensor not reported: +${ext() - base} bytes`);
  const out = tidy(() => Tensor.ones([MB4]).mul(2));
  assert.ok(ext() - base >= 8 * MB4, `tidy result not reported: +${ext() - base} bytes`);
  free.dispose();
  out.dispose();
  assert.ok(ext() - base < 1 << 20, `disposed tensors still reported: +${ext() - base} bytes`);
});

test('default thread count: all CPUs this process may use, unless OMP_NUM_THREADS says otherwise', async () => {
  const { spawnSync } = await import('node:child_process');
  const { availableParallelism } = await import('node:os');
  const script = "import('./src/tensor/index.js').then((t) => console.log(t.getNumThreads()))";
  const run = (env: NodeJS.ProcessEnv): number => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: new URL('../..', import.meta.url), env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  const { OMP_NUM_THREADS: _o, TSNAS_THREADS_DEFAULTED: _d, ...env } = process.env;
  assert.equal(run(env), availableParallelism());
  assert.equal(run({ ...env, OMP_NUM_THREADS: '1' }), 1);
});

test("OpenBLAS's pthreads build: its own pool is limited to one thread at load unless the user sized it; the OpenMP build is left alone", async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { existsSync, readdirSync } = await import('node:fs');
  const triplet = readdirSync('/usr/lib').find((d) => existsSync(`/usr/lib/${d}/openblas-pthread/libblas.so.3`) && existsSync(`/usr/lib/${d}/openblas-openmp/libblas.so.3`));
  if (!triplet) {
    t.skip('needs both libopenblas0-pthread and libopenblas0-openmp');
    return;
  }
  const script = "import('./src/tensor/index.js').then((t) => console.log(JSON.stringify(t.blasInfo())))";
  const { OPENBLAS_NUM_THREADS: _a, GOTO_NUM_THREADS: _b, TSNAS_KEEP_BLAS: _c, ...base } = process.env;
  // LD_LIBRARY_PATH picks one build for the child, whatever the system's alternative is.
  const run = (build: string, env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      env: { ...base, OMP_NUM_THREADS: '2', LD_LIBRARY_PATH: `/usr/lib/${triplet}/openblas-${build}`, ...env },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim()) as { openblas: string; threading: string; threadsAtLoad: number; limited: boolean };
  };
  const p = run('pthread');
  assert.equal(p.threading, 'pthreads');
  assert.match(p.openblas, /^OpenBLAS/);
  assert.equal(p.limited, true);
  assert.equal(run('pthread', { OPENBLAS_NUM_THREADS: '2' }).limited, false);
  const o = run('openmp');
  assert.equal(o.threading, 'openmp');
  assert.equal(o.limited, false);
});
