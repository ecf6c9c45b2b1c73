// `tsnas status --study` prints the proxy time of a study that used proxies (issue 12, honest accounting).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareSearch, search } from '../api/index.js';
import { parse as parseYaml } from 'yaml';
import { run } from './main.js';

const TABLE = fileURLToPath(new URL('../../data/nb201/nb201-cifar10.csv.gz', import.meta.url));

async function captured(argv: string[]): Promise<{ code: number; text: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => (chunks.push(String(s)), true)) as typeof process.stdout.write;
  try {
    const code = await run(argv);
    return { code, text: chunks.join('') };
  } finally {
    process.stdout.write = write;
  }
}

test('status --study shows ms per candidate and total proxy ms for a prescreened study, nothing for a plain one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-status-proxy-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    const base = { storage, space: 'nb201', strategy: 'random', evaluator: { name: 'nb201', table: TABLE }, trials: 5 };
    await search(prepareSearch({ config: { ...base, study: 'pre', prescreen: { candidates: 50, top: 5, proxies: ['synflow'] } } }));
    await search(prepareSearch({ config: { ...base, study: 'plain' } }));
    const pre = await captured(['status', '--storage', storage, '--study', 'pre']);
    assert.equal(pre.code, 0);
    assert.match(pre.text, /proxy time: [0-9.]+ ms per candidate, [0-9.]+ ms in total \(prescreen: 50 candidates, [0-9.]+ ms(, \d+ failed)?\)/);
    const js = await captured(['status', '--storage', storage, '--study', 'pre', '--json']);
    const p = JSON.parse(js.text).proxy;
    assert.equal(p.prescreen.candidates, 50);
    assert.ok(p.totalMs > 0 && p.msPerCandidate > 0);
    const plain = await captured(['status', '--storage', storage, '--study', 'plain']);
    assert.doesNotMatch(plain.text, /proxy time/);
    assert.equal(JSON.parse((await captured(['status', '--storage', storage, '--study', 'plain', '--json'])).text).proxy, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('search --help: the zero-cost proxy section\'s config snippets are accepted as written', async () => {
  const { code, text } = await captured(['search', '--help']);
  assert.equal(code, 0);
  const prescreen = /prescreen: (\{[^}]*\})/.exec(text)?.[1];
  const strategy = /strategy: (\{name: bananas.*\}\})/.exec(text)?.[1];
  assert.ok(prescreen && strategy, text);
  assert.match(text, /--evaluator proxy .*\n.*--objective proxy_synflow/);
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-help-proxy-'));
  try {
    const config = { study: 'h', storage: `sqlite:${join(dir, 's.db')}`, space: 'nb201', evaluator: 'nb201', trials: 2, prescreen: parseYaml(prescreen), strategy: parseYaml(strategy) };
    assert.ok(prepareSearch({ config }));
    assert.ok(prepareSearch({ config: { ...config, strategy: 'random', prescreen: undefined, evaluator: 'proxy', objectives: [{ metric: 'proxy_synflow', direction: 'maximize' }] } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
