/**
 * Every stage after the search rebuilds the network that was searched and uses the data it was
 * trained on (new user, session 10, findings 3 and 4): an NB201 winner of width 4 and 1 cell,
 * trained on 20 rows per class of digits, is exported; `tsnas train` of its arch.json, `tsnas
 * compress` and `tsnas finetune` of the export build the same number of parameters and train on the
 * same 200 rows unless a flag says otherwise, and the output says what was used. In real processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });

test('an exported small NB201 winner: train, compress and finetune build its recorded params and use its recorded subset', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnas-export-rebuild-'));
  try {
    const db = join(dir, 's.db');
    const cfg = join(dir, 's.yaml');
    writeFileSync(
      cfg,
      `study: small\nstorage: sqlite:${db}\nspace: nb201\nstrategy: random\ntrials: 1\n` +
        `evaluator: { name: train, dataset: digits, epochs: 1, train_per_class: 20, nb201: { width: 4, cells: 1 }, latency: false }\n`,
    );
    const s = cli(['search', cfg]);
    assert.equal(s.status, 0, s.stderr);
    const exp = join(dir, 'win');
    const e = cli(['export', '--study', 'small', '--storage', `sqlite:${db}`, '--out', exp]);
    assert.equal(e.status, 0, e.stderr);
    const recorded = (JSON.parse(readFileSync(join(exp, 'metrics.json'), 'utf8')) as { costs: { params: number } }).costs.params;
    assert.ok(recorded > 0 && recorded < 100_000, `a small network: ${recorded}`);

    // train: the record's builder options and data settings; no --dataset needed.
    const t = cli(['train', join(exp, 'arch.json'), '--epochs', '1', '--no-latency', '--json']);
    assert.equal(t.status, 0, t.stderr);
    const tr = JSON.parse(t.stdout) as { costs: { params: number }; data: { train: number; recorded: string[]; overridden: string[] } };
    assert.equal(tr.costs.params, recorded, 'train builds the recorded network');
    assert.equal(tr.data.train, 200, '20 per class x 10 classes, as recorded');
    assert.ok(tr.data.recorded.includes('nb201') && tr.data.recorded.includes('train_per_class'), JSON.stringify(tr.data));
    // The text output's data line.
    const td = cli(['train', join(exp, 'arch.json'), '--epochs', '1', '--no-latency']);
    assert.equal(td.status, 0, td.stderr);
    assert.match(td.stdout, /data: digits, 200 train \/ \d+ val \/ \d+ test rows \(train_per_class 20; nb201 width 4, cells 1\); from .*metrics\.json: dataset, train_per_class, nb201/);
    // An explicit override is used and said; a build override that changes params is a warning.
    const o = cli(['train', join(exp, 'arch.json'), '--epochs', '1', '--no-latency', '--train-per-class', '5', '--nb201-width', '8', '--json']);
    assert.equal(o.status, 0, o.stderr);
    const or = JSON.parse(o.stdout) as { costs: { params: number }; data: { train: number; overridden: string[] }; warnings: string[] };
    assert.equal(or.data.train, 50);
    assert.deepEqual([...or.data.overridden].sort(), ['nb201', 'train_per_class']);
    assert.notEqual(or.costs.params, recorded);
    assert.match(o.stderr, /warning: the network built has \d+ parameters, but .*metrics\.json records \d+ .*expected, as .*nb201/);
    // A record whose builder options do not rebuild the network (here: edited away) is an error, not a silent other network.
    const broken = join(dir, 'broken');
    cli(['export', '--study', 'small', '--storage', `sqlite:${db}`, '--out', broken, '--no-onnx']);
    const m = JSON.parse(readFileSync(join(broken, 'metrics.json'), 'utf8')) as { evaluator: { options: Record<string, unknown> } };
    delete m.evaluator.options['nb201'];
    writeFileSync(join(broken, 'metrics.json'), JSON.stringify(m));
    const b = cli(['train', join(broken, 'arch.json'), '--epochs', '1', '--no-latency']);
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr, /shape_mismatch.*the network built has \d+ parameters, but .*metrics\.json records \d+/);
    // --no-record: the architecture as given, on the flags' data.
    const nr = cli(['train', join(exp, 'arch.json'), '--no-record', '--dataset', 'digits', '--epochs', '1', '--no-latency', '--json']);
    assert.equal(nr.status, 0, nr.stderr);
    assert.ok((JSON.parse(nr.stdout) as { data: { train: number } }).data.train > 1000);

    // compress: the same params in the float row, fine-tuned on the recorded 200 rows (report.json says so).
    const c = cli(['compress', exp, '--prune', 'channels=0.25', '--finetune-epochs', '1', '--out', join(dir, 'c'), '--json', '--no-onnx']);
    assert.equal(c.status, 0, c.stderr);
    const rows = c.stdout.trim().split('\n').map((l) => JSON.parse(l) as { stage: string; params: number });
    assert.equal(rows[0]!.params, recorded);
    const rep = JSON.parse(readFileSync(join(dir, 'c', 'report.json'), 'utf8')) as { data: { train: number; recorded: string[] } };
    assert.equal(rep.data.train, 200);
    assert.match(c.stderr, /data: digits, 200 train \/ \d+ val \/ \d+ test rows \(train_per_class 20\), as recorded with the model/);
    // The whole training split only when asked, and said.
    const ca = cli(['compress', exp, '--prune', 'channels=0.25', '--finetune-epochs', '1', '--out', join(dir, 'ca'), '--json', '--no-onnx', '--train-per-class', 'all']);
    assert.equal(ca.status, 0, ca.stderr);
    assert.ok((JSON.parse(readFileSync(join(dir, 'ca', 'report.json'), 'utf8')) as { data: { train: number } }).data.train > 1000);
    assert.match(ca.stderr, /--train-per-class all: the whole training split, not the model's recorded train_per_class 20/);

    // finetune on the model's own data: the recorded subset too.
    const f = cli(['finetune', exp, '--epochs', '1', '--out', join(dir, 'f'), '--no-onnx', '--json']);
    assert.equal(f.status, 0, f.stderr);
    assert.match(f.stderr, /data: digits, 200 train/);
    // The fine-tuned model records its split: compressing it uses the same 200 rows.
    const cf = cli(['compress', join(dir, 'f'), '--quantize', 'dynamic', '--out', join(dir, 'cf'), '--json', '--no-onnx']);
    assert.equal(cf.status, 0, cf.stderr);
    assert.match(cf.stderr, /data: digits, 200 train \/ \d+ val \/ \d+ test rows \(train_per_class 20.*\), as recorded with the model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
