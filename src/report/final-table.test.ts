import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalTables } from './final-table.js';

test('final results as a table: final_<model>.<field> keys become a row per model and a column per field (new user 11 saw raw keys); plain keys stay', () => {
  const [t] = finalTables([
    {
      title: 'study',
      rows: [
        { key: 'final_winner.model', value: 'searched winner' },
        { key: 'final_winner.test_acc', value: '92.66' },
        { key: 'final_compressed.model', value: 'searched winner, int8' },
        { key: 'final_compressed.test_acc', value: '92.63' },
        { key: 'final_compressed.size_bytes', value: '59392' },
        { key: 'final_export', value: 'model.onnx' },
      ],
    },
  ]);
  assert.deepEqual(t!.columns, ['model', 'test_acc', 'size_bytes']);
  assert.deepEqual(t!.rows, [
    { name: 'winner', cells: ['searched winner', '92.66', ''] },
    { name: 'compressed', cells: ['searched winner, int8', '92.63', '59392'] },
  ]);
  assert.deepEqual(t!.plain, [{ key: 'final_export', value: 'model.onnx' }]);
});
