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
    assert.match(pre.text, /proxy time \(table-recorded\): [0-9.]+ ms per candidate, [0-9.]+ ms in total \(prescreen: 50 candidates, [0-9.]+ ms as recorded in [^)]*\)(, \d+ failed)?\)/);
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

test('status --study: table-looked-up proxy times are said to be the table\'s recorded times; failed prescreen candidates are listed by reason with their first keys (new user, session 10, finding 9)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-status-fail-'));
  try {
    const storage = `sqlite:${join(dir, 's.db')}`;
    // The table has no finite synflow for cells with no path from input to output.
    await search(prepareSearch({ config: { storage, study: 'tab', space: 'nb201', strategy: 'random', evaluator: 'nb201', trials: 2, prescreen: { candidates: 3000, top: 2, proxies: ['synflow'] } } }));
    const t = await captured(['status', '--storage', storage, '--study', 'tab']);
    assert.match(t.text, /proxy time \(table-recorded\): [0-9.]+ ms per candidate, [0-9.]+ ms in total \(prescreen: 3000 candidates, [0-9.]+ ms as recorded in data\/nb201\/nb201-proxies\.csv\.gz when it was made \(looked up, not spent by this run\), (\d+) failed\)/);
    const failed = Number(/, (\d+) failed\)/.exec(t.text)![1]);
    assert.ok(failed > 0, t.text);
    assert.match(t.text, new RegExp(`  ${failed} without synflow: proxy synflow has no finite value for this architecture in data/nb201/nb201-proxies\\.csv\\.gz \\(a cell with no path from input to output: the only synflow failure in the shipped table\\) \\(e\\.g\\. .+\\)`));
    const p = JSON.parse((await captured(['status', '--storage', storage, '--study', 'tab', '--json'])).text).proxy;
    assert.equal(p.prescreen.recordedIn, 'data/nb201/nb201-proxies.csv.gz');
    assert.equal(p.prescreen.failures[0].count, failed);
    assert.equal(p.prescreen.failures[0].keys.length, Math.min(5, failed));

    // Live: mlp_small on digits holds linear models, which have no activation codes for naswot.
    await search(
      prepareSearch({
        config: { storage, study: 'live', space: 'mlp_small', strategy: 'random', evaluator: { name: 'proxy', dataset: 'digits', proxies: ['params'] }, objectives: [{ metric: 'proxy_params', direction: 'maximize' }], trials: 2, prescreen: { candidates: 40, top: 2, proxies: ['naswot'] } },
      }),
    );
    const l = await captured(['status', '--storage', storage, '--study', 'live']);
    assert.doesNotMatch(l.text, /table-recorded|as recorded in/);
    assert.match(l.text, /prescreen: 40 candidates, [0-9.]+ ms, \d+ failed; proxy evaluator: 2 trials/);
    assert.match(l.text, /  \d+ without naswot: threw: the network has no activation module \(a linear model\): naswot has no activation codes to compare \(e\.g\. /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
