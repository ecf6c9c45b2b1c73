/**
 * Issue 17 (docs camelCase vs snake_case): every config example the README and docs/ show is
 * written with snake_case option names and is accepted by the parser it belongs to. Parsed here:
 *  - fenced ```yaml / ```json blocks that hold a study config, and the files in examples/: the
 *    whole config through prepareSearch (prepareOneShot for one-shot methods);
 *  - inline `key: value` spans (and `# key: value` comments in shell blocks) whose key is a config
 *    option: the name must be snake_case; a top-level config field (`evaluator: {...}`,
 *    `prescreen: {...}`, `objectives: [...]`...) is also parsed on top of a small base config.
 * Only problems with data files are tolerated (placeholders such as FILE, or a data set not
 * installed on this machine): they are `data_error`s; any other problem fails the test, listing
 * every example with its file and line. Alternatives written `a | b` are tried one by one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { isNasError, issuesOf } from '../core/errors.js';
import { snakeCase } from '../core/issues.js';
import { HPARAM_NAMES } from '../eval/train.js';
import { isOneShotMethod, OPTION_KEYS } from '../oneshot/options.js';
import { STRATEGIES } from '../strategy/registry.js';
import { CONFIG_FIELDS, readConfigFile } from './config.js';
import { prepareOneShot } from './oneshot.js';
import { NB201_OPTIONS, SYNTHETIC_OPTIONS } from './parts.js';
import { prepareSearch } from './study.js';
import { TRAIN_OPTIONS } from './train-evaluator.js';
import { parseJsonStrict } from './validate.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

const strategyOptionNames = Object.values(STRATEGIES).flatMap((e) => Object.keys((e as { options: object }).options));
/** Option names a config can hold anywhere (snake_case). */
const KNOWN = new Set<string>([
  ...CONFIG_FIELDS,
  ...TRAIN_OPTIONS,
  ...NB201_OPTIONS,
  ...SYNTHETIC_OPTIONS,
  'proxies', 'per_class', 'candidates', 'top', 'name', 'options', 'metric', 'direction', 'tie_break', 'min', 'max',
  ...strategyOptionNames.map(snakeCase),
  ...Object.values(OPTION_KEYS),
  ...HPARAM_NAMES.map(snakeCase),
]);
/** Names that exist only as config options (not also as library or architecture fields). */
const CONFIG_ONLY_CAMEL = new Set([...strategyOptionNames, ...Object.keys(OPTION_KEYS)].filter((n) => n !== snakeCase(n)));

interface Example {
  readonly where: string;
  readonly key?: string;
  readonly text: string;
}

/** The value starting at `s[i]`: a balanced {...} / [...] or a plain scalar up to a comma, paren or end. */
function valueAt(s: string, i: number): string {
  if (s[i] !== '{' && s[i] !== '[') return (/^[^,;()`]*/.exec(s.slice(i))?.[0] ?? '').trim();
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (s[j] === '{' || s[j] === '[') depth++;
    else if ((s[j] === '}' || s[j] === ']') && --depth === 0) return s.slice(i, j + 1);
  }
  return s.slice(i);
}

/** Every `key: value` written in a span or comment. */
function keyValues(s: string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const m of s.matchAll(/(?:^|[\s(])([A-Za-z_][A-Za-z0-9_]*): (?=\S)/g)) {
    const at = m.index! + m[0].length;
    out.push({ key: m[1]!, value: valueAt(s, at) });
  }
  return out;
}

function collect(): { configs: Example[]; spans: Example[]; camel: string[] } {
  const configs: Example[] = [];
  const spans: Example[] = [];
  const camel: string[] = [];
  for (const file of DOCS) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lineOf = (i: number) => text.slice(0, i).split('\n').length;
    const fenced: [number, number][] = [];
    for (const m of text.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```/gm)) {
      fenced.push([m.index!, m.index! + m[0].length]);
      const [lang, body] = [m[2]!, m[3]!];
      const where = `${file}:${lineOf(m.index!) + 1}`;
      if ((lang === 'yaml' && /^(space|strategy|evaluator):/m.test(body)) || (lang === 'json' && /"(space|strategy|evaluator)"\s*:/.test(body))) configs.push({ where, text: body, key: lang });
      if (lang === 'sh' || lang === 'bash' || lang === '')
        body.split('\n').forEach((l, k) => {
          const c = /\s#\s(.*)$/.exec(l);
          // Only flow collections (`strategy: { ... }`): a comment's prose may hold a colon.
          if (c) for (const kv of keyValues(c[1]!)) if (/^[[{]/.test(kv.value)) spans.push({ where: `${file}:${lineOf(m.index!) + 1 + k}`, key: kv.key, text: kv.value });
        });
    }
    const inFence = (i: number) => fenced.some(([a, b]) => i >= a && i < b);
    for (const m of text.matchAll(/`([^`\n]+)`/g)) {
      if (inFence(m.index!)) continue;
      const where = `${file}:${lineOf(m.index!)}`;
      const span = m[1]!;
      const kv = /^([A-Za-z_][A-Za-z0-9_]*): (.+)$/.exec(span);
      if (kv) spans.push({ where, key: kv[1]!, text: kv[2]! });
      if (CONFIG_ONLY_CAMEL.has(span)) camel.push(`${where}: \`${span}\` (write ${snakeCase(span)})`);
    }
  }
  for (const f of readdirSync(join(ROOT, 'examples'))) if (/\.(ya?ml|json)$/.test(f)) configs.push({ where: `examples/${f}`, text: '' });
  return { configs, spans, camel };
}

/** Placeholders the docs use for values, replaced by values of the right kind. */
const PLACEHOLDERS: Record<string, string> = { FILE: 'FILE.csv', PATH: 'PATH', URL: 'sqlite:./other.db', NAME: 'earlier-study' };

/** `exact | morph` -> one text per alternative; placeholders replaced. */
function variants(text: string): string[] {
  const t = text.replace(/\b[A-Z]{3,}\b/g, (w) => PLACEHOLDERS[w] ?? w);
  const alt = /([\w.-]+)((?: \| [\w.-]+)+)/.exec(t);
  if (!alt) return [t];
  const options = [alt[1]!, ...alt[2]!.split(' | ').slice(1)];
  return options.flatMap((o) => variants(t.slice(0, alt.index) + o + t.slice(alt.index + alt[0].length)));
}

/** Keys anywhere in a parsed config that are not snake_case. */
function camelKeys(v: unknown, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => camelKeys(x, `${path}[${i}]`));
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [...(k === snakeCase(k) ? [] : [`${path}${path ? '.' : ''}${k}`]), ...camelKeys(x, `${path}${path ? '.' : ''}${k}`)]);
}

/** The problems a config has apart from missing data files (the docs' placeholders), as text. */
function problems(config: unknown, baseDir: string): string[] {
  const raw = config as Record<string, unknown>;
  const s = raw['strategy'];
  const method = typeof s === 'string' ? s : (s as { name?: unknown } | undefined)?.name;
  try {
    if (typeof method === 'string' && isOneShotMethod(method)) prepareOneShot({ config: raw, baseDir });
    else prepareSearch({ config: raw, baseDir });
    return [];
  } catch (e) {
    if (!isNasError(e)) throw e;
    return issuesOf(e)
      .filter((i) => i.code !== 'data_error')
      .map((i) => `${i.field ?? ''}: ${i.message}`);
  }
}

test('the docs name config options in snake_case, and every config example is accepted by its parser', () => {
  const { configs, spans, camel } = collect();
  // The extraction finds the examples it is meant to (so the test cannot pass by finding none).
  assert.ok(configs.length >= 5, `config blocks found: ${configs.map((c) => c.where).join(', ')}`);
  assert.ok(spans.filter((s) => (CONFIG_FIELDS as readonly string[]).includes(s.key!)).length >= 8, 'inline config fields found');
  const bad: string[] = [...camel];
  const base = { study: 'docs-example', storage: 'sqlite:./docs-example.db', space: 'mlp', strategy: 'random', trials: 10, evaluator: { name: 'train', dataset: 'digits' } };
  for (const c of configs) {
    let raw: unknown;
    let baseDir = ROOT;
    if (c.where.startsWith('examples/')) {
      const r = readConfigFile(join(ROOT, c.where));
      (raw = r.raw), (baseDir = r.baseDir);
    } else raw = c.key === 'json' ? parseJsonStrict(c.text) : parseYaml(c.text);
    for (const k of camelKeys(raw)) bad.push(`${c.where}: key ${k} is not snake_case`);
    for (const p of problems(raw, baseDir)) bad.push(`${c.where}: ${p}`);
  }
  for (const s of spans) {
    const key = s.key!;
    if (!KNOWN.has(snakeCase(key))) continue; // not a config option (a result field, an HTTP header...)
    if (key !== snakeCase(key)) bad.push(`${s.where}: \`${key}\` is not snake_case (write ${snakeCase(key)})`);
    if (!(CONFIG_FIELDS as readonly string[]).includes(key)) continue;
    for (const text of variants(s.text)) {
      let value: unknown;
      try {
        value = parseYaml(text);
      } catch (e) {
        bad.push(`${s.where}: \`${key}: ${text}\` is not valid YAML (${(e as Error).message.split('\n')[0]})`);
        continue;
      }
      for (const k of camelKeys(value)) bad.push(`${s.where}: key ${k} is not snake_case`);
      // The fragment on top of the base: an evaluator fragment keeps the base's data set when it names none.
      const config: Record<string, unknown> = { ...base, [key]: value };
      if (key === 'evaluator') {
        const ev = typeof value === 'string' ? { name: value } : (value as Record<string, unknown>);
        config['evaluator'] = (ev['name'] === 'train' || ev['name'] === 'proxy') && ev['dataset'] === undefined ? { ...ev, dataset: 'digits' } : ev;
        if (ev['name'] === 'nb201') config['space'] = 'nb201';
        // The base's objective is one this evaluator reports.
        if (ev['name'] === 'proxy') config['objectives'] = [{ metric: 'proxy_synflow' }];
      }
      if (key === 'strategy') {
        const name = typeof value === 'string' ? value : (value as { name?: string }).name;
        if (name && isOneShotMethod(name)) (config['space'] = 'nb201'), delete config['trials'];
      }
      if (key === 'study') config['study'] = value;
      for (const p of problems(config, ROOT)) bad.push(`${s.where}: \`${key}: ${text}\`: ${p}`);
    }
  }
  assert.deepEqual(bad, [], `config examples in the docs that are not accepted as written:\n${bad.join('\n')}`);
});
