"""IDX (MNIST / Fashion-MNIST) file reading shared by the PyTorch peers (torch_train.py, optuna_main.py).

read_idx(path): the array stored in an IDX file (optionally gzip-compressed, detected by its magic
bytes), as a read-only uint8 numpy array of the file's dimensions (e.g. (60000, 28, 28)).
find(d, name): the path of `name.gz` or `name` in directory d, preferring the .gz; exits with a
message naming both when neither exists.
The file format: http://yann.lecun.com/exdb/mnist/ (magic 0x00 0x00 dtype ndim, big-endian dims).
"""
import gzip, os
import numpy as np


def read_idx(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    if raw[2] != 0x08:
        raise SystemExit(f'{path}: IDX type byte {raw[2]:#x} is not 0x08 (unsigned byte)')
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(d, name):
    for f in (name + '.gz', name):
        if os.path.exists(os.path.join(d, f)):
            return os.path.join(d, f)
    raise SystemExit(f'{name}(.gz) not found in {d}')
