import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/rng.js';
import { getSpace, SPACE_NAMES } from '../space/registry.js';
import { strategyConformanceSuite } from './common-suite.js';
import { allSites, buildFromSites, siteValues } from './sites.js';

strategyConformanceSuite('tpe', { toyQuality: 9 });

test('sites: every built-in space builds valid members from decisions, and reads the same decisions back', () => {
  for (const name of SPACE_NAMES) {
    const space = getSpace(name as string);
    const rng = Rng.fromSeed(name);
    const known = new Set(allSites(space.def).map((s) => s.path));
    for (let i = 0; i < 30; i++) {
      const picks = new Map<string, number>();
      const arch = buildFromSites(space.def, (site, allowed) => {
        const v = site.kind === 'cat' ? (allowed ? rng.choice(allowed) : rng.int(0, site.n)) : rng.float();
        picks.set(site.path, v);
        assert.ok(known.has(site.path), `${name}: site ${site.path} missing from allSites`);
        return v;
      });
      space.validate(arch);
      const back = siteValues(space.def, arch);
      for (const [p, v] of back) {
        assert.ok(picks.has(p), `${name}: read-back site ${p} was not decided`);
        if (Number.isInteger(v)) assert.equal(v, picks.get(p), `${name}: site ${p}`);
      }
      // Reading a sampled member and rebuilding it from its own decisions gives it back.
      const s = space.sample(rng);
      const d = siteValues(space.def, s);
      const again = buildFromSites(space.def, (site) => d.get(site.path)!);
      const round = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Number(x.toPrecision(9)) : x));
      assert.equal(round(space.validate(again)), round(s), `${name}: rebuild of a sample`);
    }
  }
});

test('sites: the ends of numeric ranges (u = 0 and u = 1, log scales too) build valid members', () => {
  for (const name of SPACE_NAMES) {
    const space = getSpace(name as string);
    for (const u of [0, 1]) space.validate(buildFromSites(space.def, (site, allowed) => (site.kind === 'cat' ? (allowed?.[0] ?? 0) : u)));
  }
});
