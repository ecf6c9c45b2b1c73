#!/usr/bin/python3
"""Optuna + PyTorch peer of `npm run bench -- main`: what a competent user would write instead of
`tsnas main`, doing the same work with the same budget.

  space     the main job's space (src/api/main-space.ts): 3-5 conv layers, each kernel 3/5, channels
            16/24/32/48/64/96/128, ReLU/SiLU/GELU, batch norm, max pool 1/2, residual skip (only
            without pooling; 1x1 projection when channels change); global average pool -> dropout
            U(0, 0.3) -> linear, or the flatten head: flatten -> dropout -> [linear 64/128 -> ReLU ->
            dropout] -> linear; AdamW, lr log-U(1e-3, 8e-3), batch 64/128/256, weight decay
            log-U(1e-5, 5e-2), cosine schedule per step; label smoothing 0.1. A sample over the
            MACs cap (same count as tsnas's cost model: convs, projections, classifier), or one
            that pools the 28x28 input below 1x1 (five poolings), is pruned before it trains (as
            a user would after the first such trial crashed: a failed trial teaches TPE nothing,
            a pruned one ranks as poor).
  search    TPE sampler (seeded) + Hyperband pruner (min 1, max --max-epochs budget units, reduction
            3) on the same train/validation subsets as tsnas (indices written by the tsnas side); a
            unit is an epoch, or --budget-samples training samples (tsnas main's default: 6,000 of
            the 54,000-image training split); validation accuracy after each unit (Optuna's usual
            pruning loop: one training per trial, cosine over the whole budget); until
            --search-seconds of wall clock from the process start, held like tsnas's `wallclock`:
            Optuna's own `timeout` only stops starting new trials (a run once searched 269.8 s
            against a 133 s budget), so the training loop checks the deadline at every step and
            a trial still training then stops and is recorded FAIL (tsnas records its running
            trials failed with `wallclock: ...`); `stopped_at_deadline` counts them.
  final     the best trial's network and hyperparameters on all 60,000 training images for
            --final-epochs epochs with random horizontal flips and label smoothing 0.1 (the tsnas
            recipe), then the 10,000 test images once.
  data      the idx(.gz) files in --data-dir; x / 255 standardised with the mean/std of the
            training images in use (subset for the search, all for the final training).

Prints one JSON line: side, test_acc (percent), params, seconds (wall clock from start to the test
metrics), seed, and search details. Run with Debian's /usr/bin/python3 (python3-torch, python3-optuna).
"""
import argparse, json, math, time
import numpy as np
import optuna
import torch, torch.nn as nn, torch.nn.functional as F
from idx_data import find, read_idx  # bench/idx_data.py (the script directory is on sys.path)

CHANNELS = [16, 24, 32, 48, 64, 96, 128]
ACTS = {'relu': nn.ReLU, 'silu': nn.SiLU, 'gelu': nn.GELU}

class Block(nn.Module):
    def __init__(self, cin, l):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, l['channels'], l['kernel'], padding=l['kernel'] // 2, bias=False),
                                  nn.BatchNorm2d(l['channels']), ACTS[l['activation']]())
        self.residual = l['skip'] and l['pool'] == 1
        self.proj = nn.Conv2d(cin, l['channels'], 1, bias=False) if self.residual and cin != l['channels'] else None
        self.pool = nn.MaxPool2d(l['pool']) if l['pool'] > 1 else None

    def forward(self, x):
        y = self.body(x)
        if self.residual:
            y = y + (self.proj(x) if self.proj is not None else x)
        return self.pool(y) if self.pool is not None else y


def build(cfg, hw=28):
    layers, c = [], 1
    for l in cfg['layers']:
        layers.append(Block(c, l))
        c = l['channels']
        if l['pool'] > 1:
            hw //= l['pool']
    if cfg['head'] == 'gap':
        head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(cfg['dropout']), nn.Linear(c, 10)]
    elif cfg['hidden'] > 0:
        head = [nn.Flatten(), nn.Dropout(cfg['dropout']), nn.Linear(c * hw * hw, cfg['hidden']), nn.ReLU(), nn.Dropout(cfg['dropout']), nn.Linear(cfg['hidden'], 10)]
    else:
        head = [nn.Flatten(), nn.Dropout(cfg['dropout']), nn.Linear(c * hw * hw, 10)]
    return nn.Sequential(*layers, *head)


def macs(cfg, hw=28):
    m, c = 0, 1
    for l in cfg['layers']:
        m += hw * hw * l['channels'] * c * l['kernel'] ** 2
        if l['skip'] and l['pool'] == 1 and c != l['channels']:
            m += hw * hw * l['channels'] * c
        c = l['channels']
        if l['pool'] > 1:
            hw //= l['pool']
    if cfg['head'] == 'gap':
        return m + c * 10
    n = c * hw * hw
    return m + (n * cfg['hidden'] + cfg['hidden'] * 10 if cfg['hidden'] > 0 else n * 10)


def sample(trial):
    n = trial.suggest_int('n_layers', 3, 5)
    layers = [{'kernel': trial.suggest_categorical(f'kernel{i}', [3, 5]),
               'channels': trial.suggest_categorical(f'channels{i}', CHANNELS),
               'activation': trial.suggest_categorical(f'activation{i}', list(ACTS)),
               'pool': trial.suggest_categorical(f'pool{i}', [1, 2]),
               'skip': trial.suggest_categorical(f'skip{i}', [False, True])} for i in range(n)]
    head = trial.suggest_categorical('head', ['gap', 'flatten'])
    hidden = trial.suggest_categorical('hidden', [0, 64, 128]) if head == 'flatten' else 0
    return {'layers': layers, 'dropout': trial.suggest_float('dropout', 0.0, 0.3), 'head': head, 'hidden': hidden,
            'optimizer': 'adamw',
            'lr': trial.suggest_float('lr', 1e-3, 8e-3, log=True),
            'batch': trial.suggest_categorical('batch', [64, 128, 256]),
            'wd': trial.suggest_float('wd', 1e-5, 5e-2, log=True)}


def config_of(params):
    n = params['n_layers']
    return {'layers': [{'kernel': params[f'kernel{i}'], 'channels': params[f'channels{i}'], 'activation': params[f'activation{i}'],
                        'pool': params[f'pool{i}'], 'skip': params[f'skip{i}']} for i in range(n)],
            'dropout': params['dropout'], 'head': params['head'], 'hidden': params.get('hidden', 0), 'optimizer': 'adamw', 'lr': params['lr'], 'batch': params['batch'], 'wd': params['wd']}


def tensors(x, y, mean=None, std=None):
    xt = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)
    if mean is None:
        mean, std = xt.mean().item(), xt.std(unbiased=False).item()
    return (xt - mean) / std, torch.from_numpy(y.astype(np.int64)), mean, std


def accuracy(model, x, y, bs=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), bs):
            correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    model.train()
    return 100.0 * correct / len(y)


class SearchTimeUp(RuntimeError):
    """The search's time budget ended during a trial (recorded failed, as tsnas main's `wallclock`)."""


def train(cfg, x, y, units, seed, smoothing, hflip=False, on_unit=None, unit_samples=None, deadline=None):
    """Trains for `units` budget units: epochs, or with unit_samples, that many samples each (passes
    over the shuffled data as needed, as tsnas's budget_samples); cosine over all the steps;
    on_unit(model, k) after unit k. With deadline (time.perf_counter() seconds), raises
    SearchTimeUp at the first step (or validation) past it."""
    torch.manual_seed(seed)
    model = build(cfg)
    opt_cls = torch.optim.AdamW if cfg['optimizer'] == 'adamw' else torch.optim.Adam
    opt = opt_cls(model.parameters(), lr=cfg['lr'], weight_decay=cfg['wd'])
    n, bs = len(y), cfg['batch']
    per_unit = math.ceil((unit_samples or n) / bs)
    total = units * per_unit
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    model.train()
    step = 0
    while step < total:
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb = x[idx]
            if hflip:
                flip = torch.rand(len(idx)) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            if deadline is not None and time.perf_counter() >= deadline:
                raise SearchTimeUp(f'search budget reached at step {step} of {total}')
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=smoothing)
            if not torch.isfinite(loss):
                raise optuna.TrialPruned('diverged')
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % per_unit == 0 and on_unit is not None:
                if deadline is not None and time.perf_counter() >= deadline:
                    raise SearchTimeUp(f'search budget reached before the validation after unit {step // per_unit}')
                on_unit(model, step // per_unit)
            if step >= total:
                break
    return model


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data-dir', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--train-indices', required=True, help='int32 LE indices into the training file: the search training subset')
    p.add_argument('--val-indices', required=True, help='int32 LE indices into the training file: the search validation subset')
    p.add_argument('--search-seconds', type=float, required=True)
    p.add_argument('--max-epochs', type=int, default=9)
    p.add_argument('--min-epochs', type=int, default=1)
    p.add_argument('--eta', type=int, default=3)
    p.add_argument('--budget-samples', type=int, default=0, help='one budget unit = this many training samples (0: one epoch), as tsnas main')
    p.add_argument('--final-epochs', type=int, default=10)
    p.add_argument('--max-macs', type=int, default=4_000_000)
    p.add_argument('--label-smoothing', type=float, default=0.1)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    t0 = time.perf_counter()
    deadline = t0 + a.search_seconds
    torch.set_num_threads(a.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    xtr = read_idx(find(a.data_dir, 'train-images-idx3-ubyte'))
    ytr = read_idx(find(a.data_dir, 'train-labels-idx1-ubyte'))
    tr_idx = np.fromfile(a.train_indices, dtype='<i4')
    va_idx = np.fromfile(a.val_indices, dtype='<i4')
    xs, ys, mean, std = tensors(xtr[tr_idx], ytr[tr_idx])
    xv, yv, _, _ = tensors(xtr[va_idx], ytr[va_idx], mean, std)

    def objective(trial):
        cfg = sample(trial)
        if 28 // 2 ** sum(l['pool'] > 1 for l in cfg['layers']) < 1:
            raise optuna.TrialPruned('pools the input below 1x1')
        if macs(cfg) > a.max_macs:
            raise optuna.TrialPruned(f'{macs(cfg)} MACs over the cap')
        best = [0.0]

        def on_epoch(model, epoch):
            acc = accuracy(model, xv, yv)
            best[0] = acc
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        try:
            train(cfg, xs, ys, a.max_epochs, a.seed * 100003 + trial.number, a.label_smoothing, on_unit=on_epoch, unit_samples=a.budget_samples or None, deadline=deadline)
        except SearchTimeUp as e:
            stopped.append(trial.number)
            trial.set_user_attr('stopped', str(e))
            trial.study.stop()
            raise
        return best[0]

    stopped = []

    sampler = optuna.samplers.TPESampler(seed=a.seed)
    pruner = optuna.pruners.HyperbandPruner(min_resource=a.min_epochs, max_resource=a.max_epochs, reduction_factor=a.eta)
    study = optuna.create_study(direction='maximize', sampler=sampler, pruner=pruner)
    remaining = a.search_seconds - (time.perf_counter() - t0)
    if remaining > 0:
        study.optimize(objective, timeout=remaining, catch=(RuntimeError,))
    search_seconds = time.perf_counter() - t0
    states = [t.state for t in study.trials]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise SystemExit(f'no trial completed in {search_seconds:.0f} s ({len(study.trials)} trials)')
    best = study.best_trial
    cfg = config_of(best.params)

    # Final training: all 60,000 training images, the tsnas recipe.
    t1 = time.perf_counter()
    xf, yf, mean, std = tensors(xtr, ytr)
    xte, yte, _, _ = tensors(read_idx(find(a.data_dir, 't10k-images-idx3-ubyte')), read_idx(find(a.data_dir, 't10k-labels-idx1-ubyte')), mean, std)
    model = train(cfg, xf, yf, a.final_epochs, a.seed, a.label_smoothing, hflip=True)
    test_acc = accuracy(model, xte, yte)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        'side': 'optuna', 'test_acc': round(test_acc, 2), 'params': sum(p.numel() for p in model.parameters()),
        'seconds': round(seconds, 1), 'seed': a.seed, 'search_seconds': round(search_seconds, 1), 'final_seconds': round(time.perf_counter() - t1, 1),
        'trials': len(study.trials), 'complete': len(complete), 'pruned': sum(s == optuna.trial.TrialState.PRUNED for s in states),
        'failed': sum(s == optuna.trial.TrialState.FAIL for s in states), 'stopped_at_deadline': len(stopped), 'search_budget_seconds': round(a.search_seconds, 1),
        'best_val_acc': round(best.value, 2), 'macs': macs(cfg), 'winner': cfg, 'threads': a.threads, 'optuna': optuna.__version__, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
