import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, memoryCacheStats, tidy, trimMemory } from './index.js';

// The addon's caching CPU allocator (native/src/alloc.cc): a freed large tensor buffer must be
// reused by the next tensor of its size, not unmapped and faulted in again page by page (glibc maps
// buffers above 32 MiB afresh every time), and the process must not grow round after round (glibc
// with mmap turned off instead fragmented its heap: 363 -> 938 MB over these 20 rounds). Counted in
// minor page faults and cache counters, never in time.
const cached = process.env.TSNAS_CPU_CACHE_MB !== '0';
const n = 16 * 2 ** 20; // 64 MiB of float32
const round = (gen: Generator) => tidy(() => gen.randn([n]).add(1).sum().item());

test('a freed large tensor buffer is reused: no new page faults, no growth; trimMemory unmaps the idle blocks', { skip: !cached && 'TSNAS_CPU_CACHE_MB=0' }, () => {
  const gen = new Generator(0);
  round(gen); // first use maps and faults in two 64 MiB blocks
  const s0 = memoryCacheStats();
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < 20; i++) round(gen);
  const faults = process.resourceUsage().minorPageFault - f0;
  const s1 = memoryCacheStats();
  const fresh = (20 * 2 * n * 4) / 4096; // pages, had every buffer been fresh
  assert.ok(faults < fresh / 20, `${faults} minor page faults for 20 rounds of two 64 MiB tensors (fresh buffers: ~${fresh})`);
  assert.ok(s1.hits - s0.hits >= 40, `cache hits ${s1.hits - s0.hits} of 40 large requests`);
  assert.equal(s1.misses, s0.misses, 'no new block mapped once two exist');
  assert.equal(s1.mappedBytes, s0.mappedBytes, 'mapped bytes do not grow round after round');
  assert.ok(s1.idleBytes >= 2 * n * 4, 'both blocks are idle between rounds');
  const released = trimMemory();
  assert.ok(released >= 2 * n * 4, `trimMemory released ${released} bytes`);
  const s2 = memoryCacheStats();
  assert.equal(s2.idleBytes, 0);
  assert.equal(s2.mappedBytes, s2.liveBytes);
});

test('a block is reused only for a request at most 1/8 smaller, and holds the new values', { skip: !cached && 'TSNAS_CPU_CACHE_MB=0' }, () => {
  const gen = new Generator(1);
  trimMemory();
  const m = 2 ** 20; // 4 MiB of float32
  tidy(() => gen.randn([m]).sum().item()); // leaves one idle 4 MiB block
  const s0 = memoryCacheStats();
  const k = Math.floor(0.975 * m); // 2.5% smaller: fits the idle block
  const sum = tidy(() => gen.randn([k]).mul(0).add(2).sum().item());
  const s1 = memoryCacheStats();
  assert.ok(s1.hits > s0.hits, 'a request 2.5% smaller reuses the block');
  assert.equal(sum, 2 * k, 'a reused block holds the new values');
  trimMemory();
  tidy(() => gen.randn([m]).sum().item());
  const s2 = memoryCacheStats();
  tidy(() => gen.randn([m / 2]).sum().item()); // half the size: a new block, not half of the idle one wasted
  const s3 = memoryCacheStats();
  assert.ok(s3.misses > s2.misses, 'a request half the size maps its own block');
  trimMemory();
});
