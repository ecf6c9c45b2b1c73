"""PyTorch peer of `npm run bench -- compress`: post-training static int8 quantization of the same
network with torch.ao.quantization (eager mode), on the same calibration images, evaluated on the
same test images, batch-1 latency measured like tsnas (median of N runs after 5 untimed, each figure
on a fresh copy of the model made at its thread count: see latency()).

    /usr/bin/python3 bench/torch_quant.py SPEC.json

SPEC: {"graph": model.json path (tsnas compression graph), "weights": weights.bin path (tsnas
state dict), "calibration": raw float32 file [n, *shape] (normalised), "test_x": raw float32
[m, *shape] (normalised), "test_y": raw int32 [m], "engine": "onednn"|"qnnpack", "runs": N,
"threads_all": T, "per_tensor": optional bool (weights per tensor
instead of per channel)}. The graph is rebuilt as an nn.Module of the same layers (conv, bn, relu,
pools, flatten, linear, adds via FloatFunctional), conv+bn(+relu) and linear(+relu) fused with
fuse_modules, prepared with get_default_qconfig(engine) (HistogramObserver activations,
per-channel weights), calibrated, converted. Prints one JSON object.
"""
import copy
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.ao.quantization as tq


def read_state(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'TSNASSD1', 'bad magic'
    (h,) = struct.unpack_from('<I', b, 8)
    header = json.loads(b[12:12 + h].decode('utf8'))
    start = (12 + h + 7) // 8 * 8
    npdt = {'float32': '<f4', 'float64': '<f8', 'int32': '<i4', 'int64': '<i8', 'bool': 'u1', 'uint8': 'u1'}
    out = {}
    for e in header['tensors']:
        dt = np.dtype(npdt[e['dtype']])
        a = np.frombuffer(b, dtype=dt, count=e['length'] // dt.itemsize, offset=start + e['offset'])
        out[e['name']] = torch.from_numpy(a.copy()).reshape(e['shape'])
    return out


class GraphModule(nn.Module):
    """The compression graph as eager PyTorch modules, quantization-ready (QuantStub/DeQuantStub)."""

    def __init__(self, g):
        super().__init__()
        self.g = g
        self.layers = nn.ModuleDict()
        self.quant = tq.QuantStub()
        self.dequant = tq.DeQuantStub()
        shapes = {0: g['inputShape']}
        for i, n in enumerate(g['nodes']):
            k = n['kind']
            name = 'n%d' % i
            if k == 'conv':
                self.layers[name] = nn.Conv2d(n['inC'], n['outC'], tuple(n['kernel']), stride=tuple(n['stride']), padding=tuple(n['padding']),
                                              dilation=tuple(n['dilation']), groups=n['groups'], bias=n['bias'])
            elif k == 'bn':
                self.layers[name] = nn.BatchNorm2d(n['channels'], eps=n['eps']) if len(shapes[n['input']]) == 3 else nn.BatchNorm1d(n['channels'], eps=n['eps'])
            elif k == 'linear':
                self.layers[name] = nn.Linear(n['inF'], n['outF'], bias=n['bias'])
            elif k == 'act':
                # Eager torch.ao has no int8 SiLU (and the user wraps what it cannot quantize): a
                # non-ReLU activation runs in float between DeQuantStub and QuantStub (its own observer).
                fns = {'relu': nn.ReLU, 'gelu': nn.GELU, 'silu': nn.SiLU, 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid}
                if n['fn'] not in fns:
                    raise SystemExit('peer does not support activation ' + n['fn'])
                self.layers[name] = nn.ReLU() if n['fn'] == 'relu' else nn.Sequential(tq.DeQuantStub(), fns[n['fn']](), tq.QuantStub())
            elif k == 'maxpool':
                self.layers[name] = nn.MaxPool2d(tuple(n['kernel']), tuple(n['stride']), tuple(n['padding']))
            elif k == 'avgpool':
                self.layers[name] = nn.AvgPool2d(tuple(n['kernel']), tuple(n['stride']), tuple(n['padding']), count_include_pad=n.get('countIncludePad', True))
            elif k == 'gap':
                self.layers[name] = nn.AdaptiveAvgPool2d(1)
            elif k == 'flatten':
                self.layers[name] = nn.Flatten()
            elif k == 'dropout':
                self.layers[name] = nn.Identity()
            elif k == 'add':
                self.layers[name] = nn.quantized.FloatFunctional()
            elif k == 'cat':
                self.layers[name] = nn.quantized.FloatFunctional()
            else:
                raise SystemExit('peer does not support node kind ' + k)
            shapes[i + 1] = None if k in ('flatten', 'linear') else shapes[n.get('input', (n.get('inputs') or [0])[0])]

    def forward(self, x):
        v = [self.quant(x)]
        for i, n in enumerate(self.g['nodes']):
            m = self.layers['n%d' % i]
            k = n['kind']
            if k == 'add':
                v.append(m.add(v[n['inputs'][0]], v[n['inputs'][1]]))
            elif k == 'cat':
                v.append(m.cat([v[j] for j in n['inputs']], 1))
            else:
                v.append(m(v[n['input']]))
        return self.dequant(v[self.g['output']])


def fusion_groups(g):
    """conv+bn(+relu), conv+relu, linear(+relu) chains where each intermediate value has one consumer."""
    nodes = g['nodes']
    cons = {}
    for i, n in enumerate(nodes):
        for v in (n['inputs'] if 'inputs' in n else [n['input']]):
            cons.setdefault(v, []).append(i)
    single = lambda v: cons[v][0] if v != g['output'] and len(cons.get(v, [])) == 1 else -1
    groups = []
    used = set()
    for i, n in enumerate(nodes):
        if n['kind'] not in ('conv', 'linear') or i in used:
            continue
        grp = [i]
        j = single(i + 1)
        if n['kind'] == 'conv' and j >= 0 and nodes[j]['kind'] == 'bn':
            grp.append(j)
            j = single(j + 1)
        if j >= 0 and nodes[j]['kind'] == 'act' and nodes[j]['fn'] == 'relu':
            grp.append(j)
        if len(grp) > 1:
            groups.append(['layers.n%d' % k for k in grp])
            used.update(grp)
    return groups


def latency(make, shape, threads, runs):
    """Batch-1 ms of a FRESH model from make(x) (made after the thread count is set; float and int8 alike):
    libtorch's oneDNN int8 packs cache one primitive keyed by their first call's input shape and thread
    count, so a model first run on the accuracy batches (500) or at another thread count rebuilds it on
    every batch-1 call. A fresh copy (copy.deepcopy repacks the weights) is what a deployed model is."""
    torch.set_num_threads(threads)
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model = make(x)
        for _ in range(5):
            model(x)
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    m = len(ts) // 2
    return {'median': ts[m] if len(ts) % 2 else (ts[m - 1] + ts[m]) / 2, 'min': ts[0]}


def accuracy(model, x, y):
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return float((pred == y).float().mean() * 100)


def main():
    spec = json.load(open(sys.argv[1]))
    g = json.load(open(spec['graph']))
    shape = g['inputShape']
    torch.backends.quantized.engine = spec['engine']
    sd = read_state(spec['weights'])
    model = GraphModule(g)
    own = {('layers.' + k): v for k, v in sd.items()}
    model.load_state_dict(own, strict=True)
    model.eval()
    cal = torch.from_numpy(np.fromfile(spec['calibration'], dtype='<f4').copy()).reshape(-1, *shape)
    tx = torch.from_numpy(np.fromfile(spec['test_x'], dtype='<f4').copy()).reshape(-1, *shape)
    ty = torch.from_numpy(np.fromfile(spec['test_y'], dtype='<i4').astype(np.int64))
    float_acc = accuracy(model, tx, ty)
    fused = tq.fuse_modules(model, fusion_groups(g))
    fused.qconfig = tq.get_default_qconfig(spec['engine'])
    if spec.get('per_tensor'):
        # The same activation observer; weights with one symmetric qint8 scale per tensor (MinMaxObserver).
        fused.qconfig = tq.QConfig(activation=fused.qconfig.activation, weight=tq.default_weight_observer)
    prepared = tq.prepare(fused)
    with torch.no_grad():
        for i in range(0, len(cal), 64):
            prepared(cal[i:i + 64])
    q = tq.convert(prepared)
    q.eval()
    res = {
        'engine': spec['engine'],
        'torch': torch.__version__,
        'float_acc': float_acc,
        'int8_acc': accuracy(q, tx, ty),
    }
    eager = lambda m: (lambda x: copy.deepcopy(m))
    # Traced and frozen (no Python per module): PyTorch's fastest path here; traced on the timed input.
    traced = lambda m: (lambda x: torch.jit.freeze(torch.jit.trace(copy.deepcopy(m), x)))
    for name, net in (('int8', q), ('float', model)):
        res[name + '_latency_ms'] = latency(eager(net), shape, spec['threads_all'], spec['runs'])
        res[name + '_latency_1t_ms'] = latency(eager(net), shape, 1, spec['runs'])
        res[name + '_traced_latency_ms'] = latency(traced(net), shape, spec['threads_all'], spec['runs'])
        res[name + '_traced_latency_1t_ms'] = latency(traced(net), shape, 1, spec['runs'])
    print(json.dumps(res))


if __name__ == '__main__':
    main()
