#!/usr/bin/python3
"""PyTorch peer of `npm run bench -- train`: the lenet workload of bench/torch_reference.py
trained on real Fashion-MNIST with the same policy as tsnas's trainer, so both sides do the same work:

  data      the idx(.gz) files in --data-dir; validation = the sample indices listed in --val-indices
            (int32 little-endian, written by the tsnas side so both use the identical split; may be
            empty: then no validation), train = the rest of the training file; test = the t10k files
  scaling   x / 255, then (x - mean) / std with mean/std of the train split (one channel)
  order     a fresh random permutation of the train split every epoch, batches of 64, last partial
            batch kept (seeded, but torch's RNG: same policy, not the same permutation)
  model     conv(1->16,k3,p1) relu maxpool2 conv(16->32,k3,p1) relu maxpool2 flatten linear(1568->10),
            PyTorch default init; Adam lr 1e-3; cross-entropy
  eval      validation after each epoch, test at the end, batches of 1000, eval mode, no grad

Prints one JSON line: test_acc, val_acc (percent), seconds (wall clock from reading the files to the
final test metrics), cpu_seconds (process CPU time over the same span), train_seconds, epochs, threads.
Run with Debian's /usr/bin/python3 (python3-torch 1.13).
"""
import argparse, json, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from idx_data import find, read_idx  # bench/idx_data.py (the script directory is on sys.path)


def evaluate(model, x, y, bs=1000):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(y), bs):
            out = model(x[i:i + bs])
            loss += F.cross_entropy(out, y[i:i + bs], reduction='sum').item()
            correct += (out.argmax(1) == y[i:i + bs]).sum().item()
    model.train()
    return 100.0 * correct / len(y), loss / len(y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data-dir', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--val-indices', required=True)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    t0 = time.perf_counter()
    c0 = time.process_time()
    xtr = read_idx(find(a.data_dir, 'train-images-idx3-ubyte'))
    ytr = read_idx(find(a.data_dir, 'train-labels-idx1-ubyte'))
    xte = read_idx(find(a.data_dir, 't10k-images-idx3-ubyte'))
    yte = read_idx(find(a.data_dir, 't10k-labels-idx1-ubyte'))
    val_idx = np.fromfile(a.val_indices, dtype='<i4')
    mask = np.ones(len(ytr), dtype=bool)
    mask[val_idx] = False
    train_idx = np.nonzero(mask)[0]

    def tensors(x, y):
        return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(y.astype(np.int64))

    x_train, y_train = tensors(xtr[train_idx], ytr[train_idx])
    x_val, y_val = tensors(xtr[val_idx], ytr[val_idx])
    x_test, y_test = tensors(xte, yte)
    mean, std = x_train.mean().item(), x_train.std(unbiased=False).item()
    for t in (x_train, x_val, x_test):
        t.sub_(mean).div_(std)

    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10))
    opt = torch.optim.Adam(model.parameters(), a.lr)
    t_train = time.perf_counter()
    n = len(y_train)
    val_acc = float('nan')
    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
        if len(y_val):
            val_acc, _ = evaluate(model, x_val, y_val)
    train_seconds = time.perf_counter() - t_train
    test_acc, test_loss = evaluate(model, x_test, y_test)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    print(json.dumps({'test_acc': round(test_acc, 2), 'val_acc': None if val_acc != val_acc else round(val_acc, 2), 'test_loss': round(test_loss, 4),
                      'seconds': round(seconds, 3), 'cpu_seconds': round(cpu_seconds, 3), 'train_seconds': round(train_seconds, 3), 'epochs': a.epochs,
                      'threads': a.threads, 'train_samples': n, 'val_samples': len(y_val)}))


if __name__ == '__main__':
    main()
