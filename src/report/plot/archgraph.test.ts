import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHTML } from 'linkedom';
import { useDocument } from './svg.js';
import { drawArch } from './archgraph.js';

test('chain CNN drawing: skip is drawn only on layers that build it (a pooling layer ignores skip)', () => {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  useDocument(document as unknown as Document);
  try {
    const layer = (pool: number, skip: boolean) => ({ kernel: 3, channels: 8, activation: 'relu', batchNorm: false, pool, skip });
    const svg = drawArch({ family: 'chain_cnn', layers: [layer(2, true), layer(1, true), layer(2, false)], dropout: null })!;
    const text = svg.textContent ?? '';
    // new user 11: "pool 2 · skip" was drawn although the arch key says skip:false there.
    assert.doesNotMatch(text, /pool 2 · skip/);
    assert.equal((text.match(/skip/g) ?? []).length, 1, text);
    assert.match(text, /pool 2/);
  } finally {
    useDocument(null);
  }
});
