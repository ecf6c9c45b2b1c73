"""Peer of `npm run bench -- tabular`: scikit-learn's default MLPClassifier with standard scaling.

  python3 sklearn_mlp.py export OUT_DIR          writes OUT_DIR/wine.csv, OUT_DIR/breast_cancer.csv
                                                 (features..., label; sklearn's bundled UCI copies)
  python3 sklearn_mlp.py eval CSV SPLITS.json    SPLITS = {"<seed>": [test row indices], ...}; for each
                                                 seed: StandardScaler + MLPClassifier() (all defaults,
                                                 random_state=seed) fitted on the other rows, test
                                                 accuracy in percent; prints {"<seed>": acc, ...}
  python3 sklearn_mlp.py eval-states CSV SPLITS.json R1,R2,...
                                                 the same recipe refitted with each random_state Ri
                                                 instead of the seed (the peer's own seed-to-seed
                                                 spread); prints {"<seed>": [acc_R1, acc_R2, ...], ...}
Run with Debian's /usr/bin/python3 (python3-sklearn).
"""
import json
import sys
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def export(out):
    for name, loader in (("wine", load_wine), ("breast_cancer", load_breast_cancer)):
        d = loader()
        with open(f"{out}/{name}.csv", "w") as f:
            f.write(",".join([c.replace(" ", "_") for c in d.feature_names] + ["label"]) + "\n")
            for x, y in zip(d.data, d.target):
                f.write(",".join(repr(float(v)) for v in x) + f",{int(y)}\n")


def evaluate(csv, splits_path, states=None):
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1].astype(int)
    splits = json.load(open(splits_path))
    out = {}
    warnings.simplefilter("ignore", ConvergenceWarning)
    for seed, test_idx in splits.items():
        test = np.zeros(len(y), dtype=bool)
        test[test_idx] = True
        accs = []
        for rs in states if states is not None else [int(seed)]:
            model = make_pipeline(StandardScaler(), MLPClassifier(random_state=rs))
            model.fit(x[~test], y[~test])
            accs.append(100.0 * float((model.predict(x[test]) == y[test]).mean()))
        out[seed] = accs if states is not None else accs[0]
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    elif sys.argv[1] == "eval-states":
        evaluate(sys.argv[2], sys.argv[3], [int(r) for r in sys.argv[4].split(",")])
    else:
        evaluate(sys.argv[2], sys.argv[3])
