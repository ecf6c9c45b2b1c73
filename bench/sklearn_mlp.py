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
  python3 sklearn_mlp.py ceiling CSV SPLITS.json  the ceiling screen (`bench tabular --ceiling`): each
                                                 recipe of RECIPES fitted on the non-test rows, and
                                                 "cv_select" (SELECTABLE chosen per split by 5-fold
                                                 CV accuracy on the non-test rows, ties to the lower
                                                 CV log loss, then refitted) and "cv_select_nn" (the
                                                 same over the neural and linear recipes only: what
                                                 joint_mlp_small can express); prints
                                                 {"acc": {recipe: {"<seed>": acc}}, "picks": {...}}
Run with Debian's /usr/bin/python3 (python3-sklearn).
"""
import json
import sys
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PowerTransformer, QuantileTransformer, StandardScaler
from sklearn.svm import SVC


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


class Bag:
    """Soft vote of n models (bagging by seed only: every member sees all rows)."""

    def __init__(self, make, n):
        self.models = [make(i) for i in range(n)]

    def fit(self, x, y):
        for m in self.models:
            m.fit(x, y)
        return self

    def predict_proba(self, x):
        return np.mean([m.predict_proba(x) for m in self.models], 0)

    def predict(self, x):
        return self.predict_proba(x).argmax(1)


def _scaled(model):
    return make_pipeline(StandardScaler(), model)


def _mlp(rs, **kw):
    return MLPClassifier(random_state=rs, **kw)


# Fixed recipes of the ceiling screen, each a function of the split seed (its random_state). The
# families a small-data practitioner would try: the default MLP regularised, narrower, deeper, tanh,
# on power/quantile-transformed inputs, bagged; logistic regression over C; RBF/linear SVMs; k-NN;
# random forests, extra trees, gradient boosting.
RECIPES = {
    "peer": lambda s: _scaled(_mlp(s)),
    "mlp_alpha0.1": lambda s: _scaled(_mlp(s, alpha=0.1)),
    "mlp_alpha1": lambda s: _scaled(_mlp(s, alpha=1.0)),
    "mlp_alpha3": lambda s: _scaled(_mlp(s, alpha=3.0)),
    "mlp_h32": lambda s: _scaled(_mlp(s, hidden_layer_sizes=(32,))),
    "mlp_h64x64": lambda s: _scaled(_mlp(s, hidden_layer_sizes=(64, 64))),
    "mlp_tanh": lambda s: _scaled(_mlp(s, activation="tanh")),
    "mlp_power": lambda s: make_pipeline(PowerTransformer(), _mlp(s)),
    "mlp_quantile": lambda s: make_pipeline(QuantileTransformer(output_distribution="normal", n_quantiles=100, random_state=0), _mlp(s)),
    "bag10_mlp": lambda s: Bag(lambda i: _scaled(_mlp(s * 10 + i + 7)), 10),
    "lr_C1": lambda s: _scaled(LogisticRegression(C=1, max_iter=5000)),
    "lr_C0.3": lambda s: _scaled(LogisticRegression(C=0.3, max_iter=5000)),
    "lr_C0.1": lambda s: _scaled(LogisticRegression(C=0.1, max_iter=5000)),
    "lr_C0.03": lambda s: _scaled(LogisticRegression(C=0.03, max_iter=5000)),
    "svc_rbf": lambda s: _scaled(SVC(probability=True, random_state=s)),
    "svc_rbf_C3": lambda s: _scaled(SVC(C=3, probability=True, random_state=s)),
    "svc_linear": lambda s: _scaled(SVC(kernel="linear", C=0.1, probability=True, random_state=s)),
    "knn7": lambda s: _scaled(KNeighborsClassifier(7)),
    "random_forest": lambda s: RandomForestClassifier(300, random_state=s),
    "extra_trees": lambda s: ExtraTreesClassifier(300, random_state=s),
    "hist_gb": lambda s: HistGradientBoostingClassifier(random_state=s),
}
# Chosen among by cv_select (the bag is left out: ten times the cost of its member).
SELECTABLE = [k for k in RECIPES if k != "bag10_mlp"]
# What joint_mlp_small can express (MLPs of 0-2 hidden layers with L2, i.e. also logistic regression),
# on affine-normalised inputs: cv_select_nn chooses among these.
SELECTABLE_NN = ["peer", "mlp_alpha0.1", "mlp_alpha1", "mlp_alpha3", "mlp_h32", "mlp_h64x64", "mlp_tanh", "lr_C1", "lr_C0.3", "lr_C0.1", "lr_C0.03"]


def _cv_score(make, seed, x, y, labels):
    """5-fold stratified CV on (x, y): (accuracy, -mean log loss), larger is better in both."""
    right, loss = 0.0, 0.0
    for f, (i, j) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y)):
        p = make(seed * 7 + f).fit(x[i], y[i]).predict_proba(x[j])
        right += float((p.argmax(1) == y[j]).sum())
        loss += log_loss(y[j], p, labels=labels) * len(j)
    return (right / len(y), -loss / len(y))


def ceiling(csv, splits_path):
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    x, y = data[:, :-1], data[:, -1].astype(int)
    labels = np.unique(y)
    splits = json.load(open(splits_path))
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.simplefilter("ignore", UserWarning)
    acc = {k: {} for k in [*RECIPES, "cv_select", "cv_select_nn"]}
    picks = {"cv_select": {}, "cv_select_nn": {}}
    for seed, test_idx in splits.items():
        s = int(seed)
        test = np.zeros(len(y), dtype=bool)
        test[test_idx] = True
        for k, make in RECIPES.items():
            m = make(s).fit(x[~test], y[~test])
            acc[k][seed] = 100.0 * float((m.predict(x[test]) == y[test]).mean())
        cv = {k: _cv_score(RECIPES[k], s, x[~test], y[~test], labels) for k in SELECTABLE}
        for name, pool in (("cv_select", SELECTABLE), ("cv_select_nn", SELECTABLE_NN)):
            best = max(pool, key=lambda k: cv[k])
            picks[name][seed] = best
            acc[name][seed] = acc[best][seed]
        print(f"split {seed}: cv_select {picks['cv_select'][seed]}, cv_select_nn {picks['cv_select_nn'][seed]}", file=sys.stderr, flush=True)
    print(json.dumps({"acc": acc, "picks": picks}))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    elif sys.argv[1] == "ceiling":
        ceiling(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "eval-states":
        evaluate(sys.argv[2], sys.argv[3], [int(r) for r in sys.argv[4].split(",")])
    else:
        evaluate(sys.argv[2], sys.argv[3])
