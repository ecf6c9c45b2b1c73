/**
 * The Kubernetes manifests of deploy/k8s (issue 18 item 3): every object is checked against the
 * Kubernetes API schema (the `kubernetes-models` package: the API's OpenAPI definitions compiled
 * to validators, shipped in the npm package, so nothing is fetched here), their references to each
 * other resolve, the study config in the ConfigMap passes tsnas's own validator, and the worker
 * Job's container command line is run as written - `parallelism` workers at once on a fresh
 * PostgreSQL (loopback), with the Secret's URL and the volume paths substituted - and completes.
 * No cluster is available here: what a scheduler does (pulling the image, mounting volumes) is not
 * tested.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { prepareSearch } from '../api/index.js';
import { tryStartPgServer } from '../store/testing/pg-server.js';
import { PostgresStore } from '../store/postgres.js';
import { SCHEMA_VERSION } from '../store/types.js';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'deploy/k8s');

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: unknown };

/** The schema validator of each kind used (`new Kind(doc).validate()` throws on a violation). */
const MODELS: Record<string, (doc: Doc) => { validate(): void }> = {
  'v1/Secret': (d) => new Secret(d as never),
  'v1/Service': (d) => new Service(d as never),
  'v1/ConfigMap': (d) => new ConfigMap(d as never),
  'v1/PersistentVolumeClaim': (d) => new PersistentVolumeClaim(d as never),
  'apps/v1/StatefulSet': (d) => new StatefulSet(d as never),
  'batch/v1/Job': (d) => new Job(d as never),
};

function validate(doc: Doc): void {
  const make = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (make === undefined) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind} (add it to MODELS)`);
  make(doc).validate();
}

function loadManifests(): { file: string; doc: Doc }[] {
  const out: { file: string; doc: Doc }[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`);
      out.push({ file, doc: d.toJS() as Doc });
    }
  }
  return out;
}

const manifests = loadManifests();
const find = (kind: string, name?: string) => manifests.map((m) => m.doc).filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
const job = find('Job', 'tsnas-workers')[0] as Doc & { spec: { parallelism: number; template: { spec: { containers: { name: string; args: string[]; env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[] } } } };
const studyYaml = (find('ConfigMap', 'tsnas-study')[0] as Doc & { data: Record<string, string> }).data['study.yaml']!;

describe('Kubernetes manifests (deploy/k8s)', () => {
  test('every object is valid against the Kubernetes API schema', () => {
    assert.ok(manifests.length >= 8, `found ${manifests.length} objects`);
    for (const { file, doc } of manifests) assert.doesNotThrow(() => validate(doc), `${file}: ${doc.kind} ${doc.metadata?.name}`);
  });

  test('the validator is live: broken copies of the manifests are refused', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a free-form copy to break
    const broken: [string, (j: any) => void][] = [
      ['parallelism as a string', (j) => (j.spec.parallelism = 'three')],
      ['a container without a name', (j) => delete j.spec.template.spec.containers[0].name],
      ['env without a name', (j) => j.spec.template.spec.containers[0].env.push({ value: 'x' })],
      ['restartPolicy not a string', (j) => (j.spec.template.spec.restartPolicy = 7)],
      ['a volume mount without a path', (j) => delete j.spec.template.spec.containers[0].volumeMounts[0].mountPath],
    ];
    for (const [what, change] of broken) {
      const copy = structuredClone(job);
      change(copy);
      assert.throws(() => validate(copy), `${what} must be refused`);
    }
  });

  test('references resolve: secrets, config map, volume claim, service', () => {
    const c = job.spec.template.spec.containers[0]!;
    for (const e of c.env) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const s = find('Secret', ref.name)[0] as (Doc & { stringData?: Record<string, string> }) | undefined;
      assert.ok(s?.stringData?.[ref.key] !== undefined, `secret ${ref.name} has key ${ref.key}`);
    }
    for (const v of job.spec.template.spec.volumes) {
      if (v.configMap) assert.equal(find('ConfigMap', v.configMap.name).length, 1, `config map ${v.configMap.name}`);
      if (v.persistentVolumeClaim) {
        const pvc = find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName)[0] as (Doc & { spec: { accessModes: string[] } }) | undefined;
        assert.ok(pvc, `claim ${v.persistentVolumeClaim.claimName}`);
        assert.ok(pvc.spec.accessModes.includes('ReadWriteMany'), 'every worker pod writes the artifacts volume');
      }
    }
    for (const m of c.volumeMounts) assert.ok(job.spec.template.spec.volumes.some((v) => v.name === m.name), `volume ${m.name}`);
    // The storage URL names the PostgreSQL Service and the port it serves.
    const url = new URL((find('Secret', 'tsnas-storage')[0] as Doc & { stringData: Record<string, string> }).stringData['TSNAS_STORAGE']!);
    const svc = find('Service', url.hostname)[0] as (Doc & { spec: { ports: { port: number }[] } }) | undefined;
    assert.ok(svc, `a Service named ${url.hostname}`);
    assert.ok(svc.spec.ports.some((p) => p.port === Number(url.port)));
    // A bad-input exit (2) fails the Job instead of retrying it.
    const rules = (job.spec as unknown as { podFailurePolicy: { rules: { action: string; onExitCodes?: { values: number[] } }[] } }).podFailurePolicy.rules;
    assert.ok(rules.some((r) => r.action === 'FailJob' && r.onExitCodes?.values.includes(2)));
  });

  test('the study config in the ConfigMap passes tsnas\'s validator', () => {
    const raw = parseYaml(studyYaml) as Record<string, unknown>;
    const p = prepareSearch({ config: raw, baseDir: tmpdir() });
    assert.equal(p.config.study, raw['study']);
    assert.equal(p.parts.config.evaluator.options['artifacts_dir'], (raw['evaluator'] as Record<string, unknown>)['artifacts_dir']);
    const artifacts = job.spec.template.spec.containers[0]!.volumeMounts.find((m) => m.name === 'artifacts')!.mountPath;
    assert.ok(String(p.parts.config.evaluator.options['artifacts_dir']).startsWith(`${artifacts}/`), 'the weights go to the artifacts volume');
  });
});

const started = await tryStartPgServer();
if ('reason' in started) {
  test('the worker Job\'s command line, run locally', { skip: `cannot start a PostgreSQL server: ${started.reason}` }, () => {});
} else {
  const server = started.server;
  after(() => server.stop());
  test('the worker Job\'s command line, run locally: parallel workers create-or-join the study and each finishes a trial', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tsnas-k8s-'));
    try {
      const url = await server.createDatabase('k8s');
      const c = job.spec.template.spec.containers[0]!;
      // The pod's filesystem: the ConfigMap mounted at its mountPath, the artifacts volume at its.
      const mountOf = (name: string) => c.volumeMounts.find((m) => m.name === name)!.mountPath;
      const here = (p: string) => p.replace(mountOf('study'), join(work, 'etc')).replace(mountOf('artifacts'), join(work, 'artifacts'));
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(work, 'etc'));
      writeFileSync(join(work, 'etc', 'study.yaml'), here(studyYaml));
      const env: NodeJS.ProcessEnv = { ...process.env, TSNAS_STORAGE: url };
      for (const e of c.env) if (e.value !== undefined) env[e.name] = e.value;
      // Kubernetes expands $(VAR) in args from the container's environment.
      const args = c.args.map((a) => here(a.replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? '')));
      const runs = Array.from({ length: job.spec.parallelism }, () => {
        const p = spawn(process.execPath, [join(ROOT, 'bin/tsnas.js'), ...args, '--max-trials', '1'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        p.stdout.on('data', (b: Buffer) => (log += b.toString()));
        p.stderr.on('data', (b: Buffer) => (log += b.toString()));
        return new Promise<{ code: number | null; log: string }>((res) => p.on('exit', (code) => res({ code, log })));
      });
      const results = await Promise.all(runs);
      for (const r of results) assert.equal(r.code, 0, r.log);
      const store = await PostgresStore.open(url);
      try {
        const s = await store.requireStudy((parseYaml(studyYaml) as { study: string }).study);
        const trials = await store.listTrials(s.id);
        assert.equal(trials.length, job.spec.parallelism, 'one study, one trial per worker');
        for (const t of trials) {
          assert.equal(t.state, 'complete', t.error ?? '');
          assert.ok(String(t.userAttrs['weights_path']).startsWith(join(work, 'artifacts')), 'weights on the artifacts volume');
        }
      } finally {
        await store.close();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('the schema upgrade Job\'s command line, run locally: upgrades a database of schema 1 once, then does nothing', async () => {
    const upJob = find('Job', 'tsnas-db-upgrade')[0] as typeof job;
    const c = upJob.spec.template.spec.containers[0]!;
    const url = await server.createDatabase('k8s_upgrade');
    await (await PostgresStore.open(url)).close();
    // The database as tsnas of schema 1 left it (see atSchema1 in src/store/conformance.ts).
    assert.equal(SCHEMA_VERSION, 2);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('DELETE FROM schema_version WHERE version >= 2; ALTER TABLE schema_version DROP COLUMN compat');
      const env: NodeJS.ProcessEnv = { ...process.env, TSNAS_STORAGE: url };
      const args = c.args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? ''));
      const runOnce = () => {
        const r = spawnSync(process.execPath, [join(ROOT, 'bin/tsnas.js'), ...args], { env, encoding: 'utf8' });
        return { code: r.status, log: r.stdout + r.stderr };
      };
      const first = runOnce();
      assert.equal(first.code, 0, first.log);
      assert.match(first.log, /upgraded from schema version 1 to 2/);
      assert.doesNotMatch(first.log, new RegExp(new URL(url).password || '\\0never'), 'no password printed');
      const second = runOnce();
      assert.equal(second.code, 0, second.log);
      assert.match(second.log, /already at schema version 2; nothing to do/);
      assert.deepEqual((await admin.query('SELECT version FROM schema_version ORDER BY version')).rows, [{ version: 1 }, { version: 2 }]);
    } finally {
      await admin.end();
    }
  });
}
