#!/usr/bin/env python3
"""Writes src/strategy/hypervolume.fixture.json: random point sets (minimisation) with their exact
hypervolume by Optuna's WFG (optuna._hypervolume.WFG, the version recorded in the file), which
src/strategy/hypervolume.test.ts compares tsnas's own WFG with. Run once, by hand:

    /usr/bin/python3 scripts/hypervolume-fixture.py > src/strategy/hypervolume.fixture.json

The tests read the file and need no Python. Seeded (numpy default_rng(17)): the same file each run
with the same Optuna and numpy.
"""
import json
import sys

import numpy as np
import optuna
from optuna._hypervolume import WFG

rng = np.random.default_rng(17)
cases = []
for m in (3, 4, 5):
    for n in (1, 2, 3, 5, 8, 13, 21, 34):
        kind = 'uniform'
        pts = rng.random((n, m))
        if n >= 5 and len(cases) % 3 == 0:
            # ties and duplicates: values on a coarse grid
            pts = np.round(pts * 4) / 4
            kind = 'grid (ties, duplicates)'
        elif n >= 8 and len(cases) % 3 == 1:
            # points near the simplex sum = 1: mostly mutually non-dominated
            pts = pts / pts.sum(axis=1, keepdims=True)
            kind = 'simplex (mostly non-dominated)'
        ref = np.full(m, 1.0) + rng.random(m) * 0.5
        hv = WFG().compute(pts.copy(), ref.copy())
        cases.append({'m': m, 'kind': kind, 'points': pts.tolist(), 'ref': ref.tolist(), 'hypervolume': float(hv)})

json.dump({
    'made_by': 'scripts/hypervolume-fixture.py (/usr/bin/python3 scripts/hypervolume-fixture.py > src/strategy/hypervolume.fixture.json)',
    'optuna': optuna.__version__,
    'numpy': np.__version__,
    'reference': 'optuna._hypervolume.WFG().compute(points, ref): minimisation, every point <= ref',
    'cases': cases,
}, sys.stdout, indent=1)
sys.stdout.write('\n')
