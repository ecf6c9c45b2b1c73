#!/usr/bin/python3
"""PyTorch expected values for tsnas's parity tests (src/tensor/parity.test.ts, src/nn/parity.test.ts).

Run with Debian's /usr/bin/python3 (python3-torch 1.13). Reads one JSON request on stdin, writes one
JSON answer on stdout. Request: {"mode": "ops"|"modules"|"optim"|"sched"|"random", "cases": [...]}.

ops case:     {"name", "op", "inputs": [{"data", "shape", "dtype", "grad"}], "args": {...}}
   -> {"name", "outs": [{"shape", "dtype", "data"}], "grads": [data|null per input]}
   The backward pass uses loss = sum_k sum(out_k * cot(out_k)) over float outputs, with the
   deterministic cotangent cot(t) = sin(0.37 * arange(numel) + 0.1) (float64 -> float32), reshaped.
"""
import json, sys, math
import torch, torch.nn as nn, torch.nn.functional as F

DT = {'float32': torch.float32, 'float64': torch.float64, 'int64': torch.int64, 'bool': torch.bool,
      'int32': torch.int32, 'uint8': torch.uint8}
DT_NAME = {v: k for k, v in DT.items()}


def cot(t):
    n = t.numel()
    return torch.sin(torch.arange(n, dtype=torch.float64) * 0.37 + 0.1).float().reshape(t.shape)


def mk(spec):
    t = torch.tensor([float(v) for v in spec['data']], dtype=torch.float64).to(DT[spec['dtype']]).reshape(spec['shape'])
    if spec.get('grad'):
        t.requires_grad_(True)
    return t


def fl(t):
    # JSON has no NaN/Infinity: non-finite values travel as strings ('nan', 'inf', '-inf').
    return [v if math.isfinite(v) else str(v) for v in t.detach().double().flatten().tolist()]


def enc(t):
    t = t.detach()
    return {'shape': list(t.shape), 'dtype': DT_NAME.get(t.dtype, str(t.dtype)), 'data': fl(t)}


UNARY = {
    'neg': torch.neg, 'abs': torch.abs, 'exp': torch.exp, 'log': torch.log, 'sqrt': torch.sqrt, 'rsqrt': torch.rsqrt,
    'sin': torch.sin, 'cos': torch.cos, 'tanh': torch.tanh, 'sigmoid': torch.sigmoid, 'relu': torch.relu,
    'gelu': F.gelu, 'silu': F.silu, 'square': torch.square, 'sign': torch.sign, 'floor': torch.floor, 'ceil': torch.ceil,
    'round': torch.round, 'reciprocal': torch.reciprocal, 'log1p': torch.log1p, 'expm1': torch.expm1, 'erf': torch.erf,
    'logicalNot': torch.logical_not, 'softplus': F.softplus, 'isnan': torch.isnan, 'isfinite': torch.isfinite,
    'relu6': F.relu6, 'hardswish': F.hardswish, 'hardsigmoid': F.hardsigmoid, 'mish': F.mish, 'elu': F.elu,
    'selu': F.selu, 'logSigmoid': F.logsigmoid, 'tan': torch.tan, 'asin': torch.asin, 'acos': torch.acos,
    'atan': torch.atan, 'sinh': torch.sinh, 'cosh': torch.cosh, 'log2': torch.log2, 'log10': torch.log10,
    'exp2': torch.exp2, 'trunc': torch.trunc, 'frac': torch.frac,
}
BINARY = {
    'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'pow': torch.pow,
    'maximum': torch.maximum, 'minimum': torch.minimum, 'eq': torch.eq, 'ne': torch.ne, 'lt': torch.lt,
    'le': torch.le, 'gt': torch.gt, 'ge': torch.ge, 'logicalAnd': torch.logical_and, 'logicalOr': torch.logical_or,
    'remainder': torch.remainder, 'floorDivide': lambda a, b: torch.div(a, b, rounding_mode='floor'),
    'atan2': torch.atan2, 'logicalXor': torch.logical_xor,
}
RED = {'mean': 'mean', 'sum': 'sum', 'none': 'none'}


def op_call(op, x, a):
    if op == 'unary':
        return UNARY[a['fn']](x[0])
    if op == 'binary':
        return BINARY[a['fn']](x[0], x[1] if len(x) > 1 else a['scalar'])
    if op == 'rbinary':
        s = a['scalar']
        return {'sub': lambda: s - x[0], 'div': lambda: s / x[0], 'pow': lambda: s ** x[0]}[a['fn']]()
    if op == 'addScaled': return torch.add(x[0], x[1], alpha=a['alpha'])
    if op == 'where':
        return torch.where(x[0], x[1] if len(x) > 1 else torch.tensor(a['a']), x[2] if len(x) > 2 else torch.tensor(a['b']))
    if op == 'clamp': return torch.clamp(x[0], a.get('min'), a.get('max'))
    if op == 'maskedFill': return x[0].masked_fill(x[1], a['value'])
    if op == 'leakyRelu': return F.leaky_relu(x[0], a['slope'])
    if op == 'reduce':
        fn, dims, keep = a['fn'], a.get('dims'), a.get('keepdim', False)
        t = x[0]
        if fn == 'sum': return t.sum() if dims is None else t.sum(dims, keepdim=keep)
        if fn == 'mean': return t.mean() if dims is None else t.mean(dims, keepdim=keep)
        if fn == 'prod':
            if dims is None: return t.prod()
            r = t
            for d in sorted([d % t.dim() for d in dims], reverse=True): r = r.prod(d, keepdim=keep)
            return r
        if fn == 'amax': return t.max() if dims is None else t.amax(dims, keepdim=keep)
        if fn == 'amin': return t.min() if dims is None else t.amin(dims, keepdim=keep)
        if fn == 'logsumexp': return t.logsumexp(list(range(t.dim())) if dims is None else dims, keepdim=keep)
        if fn == 'norm': return t.norm() if dims is None else t.norm(2, dims, keepdim=keep)
        if fn == 'all': return t.all() if dims is None else t.all(dims[0], keepdim=keep)
        if fn == 'any': return t.any() if dims is None else t.any(dims[0], keepdim=keep)
    if op == 'maxDim': return tuple(torch.max(x[0], a['dim'], keepdim=a.get('keepdim', False)))
    if op == 'minDim': return tuple(torch.min(x[0], a['dim'], keepdim=a.get('keepdim', False)))
    if op == 'argmax': return torch.argmax(x[0], a.get('dim'), keepdim=a.get('keepdim', False))
    if op == 'argmin': return torch.argmin(x[0], a.get('dim'), keepdim=a.get('keepdim', False))
    if op == 'var': return torch.var(x[0], a.get('dims'), unbiased=a.get('unbiased', True), keepdim=a.get('keepdim', False))
    if op == 'std': return torch.std(x[0], a.get('dims'), unbiased=a.get('unbiased', True), keepdim=a.get('keepdim', False))
    if op == 'cumsum': return torch.cumsum(x[0], a['dim'])
    if op == 'sort': return tuple(torch.sort(x[0], a['dim'], descending=a['descending']))
    if op == 'topk': return tuple(torch.topk(x[0], a['k'], a['dim'], largest=a['largest']))
    if op == 'reshape': return x[0].reshape(a['shape'])
    if op == 'view': return x[0].view(a['shape'])
    if op == 'permute': return x[0].permute(a['dims'])
    if op == 'transpose': return x[0].transpose(a['d0'], a['d1'])
    if op == 'cat': return torch.cat(x, a['dim'])
    if op == 'stack': return torch.stack(x, a['dim'])
    if op == 'slice':
        idx = [slice(None)] * x[0].dim()
        idx[a['dim']] = slice(a['start'], a.get('end'), a.get('step', 1))
        return x[0][tuple(idx)]
    if op == 'select': return x[0].select(a['dim'], a['index'])
    if op == 'indexSelect': return torch.index_select(x[0], a['dim'], x[1])
    if op == 'gather': return torch.gather(x[0], a['dim'], x[1])
    if op == 'scatter': return torch.scatter(x[0], a['dim'], x[1], x[2])
    if op == 'scatterAdd': return torch.scatter_add(x[0], a['dim'], x[1], x[2])
    if op == 'maskedSelect': return torch.masked_select(x[0], x[1])
    if op == 'flatten': return torch.flatten(x[0], a['start'], a['end'])
    if op == 'squeeze': return x[0].squeeze() if a.get('dim') is None else x[0].squeeze(a['dim'])
    if op == 'unsqueeze': return x[0].unsqueeze(a['dim'])
    if op == 'expand': return x[0].expand(a['shape'])
    if op == 'repeat': return x[0].repeat(a['reps'])
    if op == 'flip': return x[0].flip(a['dims'])
    if op == 'contiguous': return x[0].transpose(0, 1).contiguous()
    if op == 'clone': return x[0].clone()
    if op == 'to': return x[0].to(DT[a['dtype']])
    if op == 'split': return tuple(torch.split(x[0], a['size'], a['dim']))
    if op == 'oneHot': return F.one_hot(x[0], a['n'])
    if op == 'tril': return torch.tril(x[0], a['k'])
    if op == 'triu': return torch.triu(x[0], a['k'])
    if op == 'matmul': return torch.matmul(x[0], x[1])
    if op == 'mm': return torch.mm(x[0], x[1])
    if op == 'bmm': return torch.bmm(x[0], x[1])
    if op == 'linear': return F.linear(x[0], x[1], x[2] if len(x) > 2 else None)
    if op == 'outer': return torch.outer(x[0], x[1])
    if op == 'conv2d':
        return F.conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get('stride', 1), a.get('padding', 0), a.get('dilation', 1), a.get('groups', 1))
    if op == 'conv1d':
        return F.conv1d(x[0], x[1], x[2] if len(x) > 2 else None, a.get('stride', 1), a.get('padding', 0), a.get('dilation', 1), a.get('groups', 1))
    if op == 'convTranspose2d':
        return F.conv_transpose2d(x[0], x[1], x[2] if len(x) > 2 else None, a.get('stride', 1), a.get('padding', 0), a.get('outputPadding', 0), a.get('groups', 1), a.get('dilation', 1))
    if op == 'maxPool2d':
        return F.max_pool2d(x[0], a['k'], a.get('stride'), a.get('padding', 0), a.get('dilation', 1), a.get('ceilMode', False))
    if op == 'avgPool2d':
        return F.avg_pool2d(x[0], a['k'], a.get('stride'), a.get('padding', 0), a.get('ceilMode', False), a.get('countIncludePad', True))
    if op == 'adaptiveAvgPool2d': return F.adaptive_avg_pool2d(x[0], a['out'])
    if op == 'adaptiveMaxPool2d': return F.adaptive_max_pool2d(x[0], a['out'])
    if op == 'batchNorm':
        rm, rv = x[3].clone(), x[4].clone()
        y = F.batch_norm(x[0], rm, rv, x[1], x[2], a['training'], a.get('momentum', 0.1), a.get('eps', 1e-5))
        return (y, rm, rv)
    if op == 'layerNorm': return F.layer_norm(x[0], a['shape'], x[1] if len(x) > 1 else None, x[2] if len(x) > 2 else None, a.get('eps', 1e-5))
    if op == 'groupNorm': return F.group_norm(x[0], a['groups'], x[1], x[2], a.get('eps', 1e-5))
    if op == 'dropout':
        torch.manual_seed(a['seed'])
        return F.dropout(x[0], a['p'], a['training'])
    if op == 'softmax': return F.softmax(x[0], a['dim'])
    if op == 'logSoftmax': return F.log_softmax(x[0], a['dim'])
    if op == 'crossEntropy':
        return F.cross_entropy(x[0], x[1], weight=x[2] if len(x) > 2 else None, reduction=a.get('reduction', 'mean'),
                               label_smoothing=a.get('labelSmoothing', 0.0), ignore_index=a.get('ignoreIndex', -100))
    if op == 'nllLoss':
        return F.nll_loss(F.log_softmax(x[0], 1) if a.get('logSoftmax') else x[0], x[1], weight=x[2] if len(x) > 2 else None, reduction=a.get('reduction', 'mean'), ignore_index=a.get('ignoreIndex', -100))
    if op == 'mseLoss': return F.mse_loss(x[0], x[1], reduction=a.get('reduction', 'mean'))
    if op == 'l1Loss': return F.l1_loss(x[0], x[1], reduction=a.get('reduction', 'mean'))
    if op == 'smoothL1Loss': return F.smooth_l1_loss(x[0], x[1], reduction=a.get('reduction', 'mean'), beta=a.get('beta', 1.0))
    if op == 'bceWithLogits': return F.binary_cross_entropy_with_logits(x[0], x[1], reduction=a.get('reduction', 'mean'))
    if op == 'lstmCell': return tuple(torch.lstm_cell(x[0], (x[1], x[2]), x[3], x[4], x[5], x[6]))
    if op == 'gruCell': return torch.gru_cell(x[0], x[1], x[2], x[3], x[4], x[5])
    if op == 'embedding': return F.embedding(x[0], x[1])
    if op == 'pad': return F.pad(x[0], a['pads'], a.get('mode', 'constant'), a.get('value', 0.0) if a.get('mode', 'constant') == 'constant' else None)
    raise SystemExit(f'unknown op {op}')


def run_ops(cases):
    out = []
    for c in cases:
        xs = [mk(s) for s in c['inputs']]
        r = op_call(c['op'], xs, c.get('args', {}))
        outs = list(r) if isinstance(r, tuple) else [r]
        grads = [None] * len(xs)
        if any(x.requires_grad for x in xs):
            loss = sum((o.float() * cot(o)).sum() for o in outs if o.requires_grad)
            if isinstance(loss, torch.Tensor):
                loss.backward()
                grads = [fl(x.grad) if x.grad is not None else None for x in xs]
        out.append({'name': c['name'], 'outs': [enc(o) for o in outs], 'grads': grads})
    return out


# ---------------------------------------------------------------- modules

def build(spec):
    k = spec['kind']
    if k == 'linear': return nn.Linear(spec['in'], spec['out'], bias=spec.get('bias', True))
    if k == 'conv2d':
        return nn.Conv2d(spec['in'], spec['out'], spec['k'], spec.get('stride', 1), spec.get('padding', 0), spec.get('dilation', 1),
                         spec.get('groups', 1), bias=spec.get('bias', True))
    if k == 'bn1d': return nn.BatchNorm1d(spec['n'])
    if k == 'bn2d': return nn.BatchNorm2d(spec['n'])
    if k == 'layernorm': return nn.LayerNorm(spec['shape'])
    if k == 'dropout': return nn.Dropout(spec['p'])
    if k == 'maxpool': return nn.MaxPool2d(spec['k'], spec.get('stride'), spec.get('padding', 0))
    if k == 'avgpool': return nn.AvgPool2d(spec['k'], spec.get('stride'), spec.get('padding', 0), count_include_pad=spec.get('countIncludePad', True))
    if k == 'adaptiveavg': return nn.AdaptiveAvgPool2d(spec['out'])
    if k == 'flatten': return nn.Flatten()
    if k == 'relu': return nn.ReLU()
    if k == 'lstmcell': return nn.LSTMCell(spec['in'], spec['hidden'])
    if k == 'embedding': return nn.Embedding(spec['n'], spec['dim'])
    if k == 'sequential': return nn.Sequential(*[build(s) for s in spec['layers']])
    raise SystemExit(f'unknown module {k}')


def run_modules(cases):
    out = []
    for c in cases:
        torch.manual_seed(c['seed'])
        m = build(c['spec'])
        own = {k: v.detach().clone() for k, v in m.state_dict().items()}
        sd = {k: mk(v) for k, v in c['state'].items()}
        init_diff = max([(own[k].double() - sd[k].double()).abs().max().item() if own[k].numel() else 0.0 for k in own] + [0.0])
        same_keys = sorted(own.keys()) == sorted(sd.keys())
        m.load_state_dict(sd)
        m.train(c['training'])
        xs = [mk(s) for s in c['inputs']]
        if c['spec']['kind'] == 'dropout': torch.manual_seed(c['dropoutSeed'])
        if c['spec']['kind'] == 'lstmcell': r = m(xs[0], (xs[1], xs[2]) if len(xs) > 2 else None)
        else: r = m(xs[0])
        outs = list(r) if isinstance(r, tuple) else [r]
        loss = sum((o.float() * cot(o)).sum() for o in outs if o.requires_grad)
        if isinstance(loss, torch.Tensor): loss.backward()
        out.append({'name': c['name'], 'initDiff': init_diff, 'sameKeys': same_keys,
                    'keys': list(m.state_dict().keys()),
                    'outs': [enc(o) for o in outs],
                    'inputGrads': [fl(x.grad) if x.grad is not None else None for x in xs],
                    'paramGrads': {k: p.grad.double().flatten().tolist() for k, p in m.named_parameters() if p.grad is not None},
                    'state': {k: v.double().flatten().tolist() for k, v in m.state_dict().items()}})
    return out


def run_optim(cases):
    out = []
    for c in cases:
        ps = [mk(s) for s in c['params']]
        for p in ps: p.requires_grad_(True)
        kind, o = c['kind'], c['options']
        if kind == 'sgd':
            opt = torch.optim.SGD(ps, lr=o['lr'], momentum=o.get('momentum', 0), dampening=o.get('dampening', 0),
                                  weight_decay=o.get('weightDecay', 0), nesterov=o.get('nesterov', False), maximize=o.get('maximize', False))
        else:
            cls = torch.optim.Adam if kind == 'adam' else torch.optim.AdamW
            kw = dict(lr=o.get('lr', 1e-3), betas=tuple(o.get('betas', (0.9, 0.999))), eps=o.get('eps', 1e-8),
                      amsgrad=o.get('amsgrad', False), maximize=o.get('maximize', False))
            if 'weightDecay' in o: kw['weight_decay'] = o['weightDecay']
            opt = cls(ps, **kw)
        norms = []
        for step in range(c['steps']):
            opt.zero_grad(set_to_none=True)
            loss = sum(((p * cot(p)).sum() + 0.5 * (p * p).sum() + torch.sin(p).sum() * step) for p in ps)
            loss.backward()
            if c.get('clip') is not None:
                norms.append(float(torch.nn.utils.clip_grad_norm_(ps, c['clip'])))
            opt.step()
        out.append({'name': c['name'], 'params': [p.detach().double().flatten().tolist() for p in ps], 'norms': norms})
    return out


def run_sched(cases):
    out = []
    for c in cases:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=c['lr'])
        s, k = c['schedule'], c['schedule']['kind']
        if k == 'step': sch = torch.optim.lr_scheduler.StepLR(opt, s['stepSize'], s.get('gamma', 0.1))
        elif k == 'multistep': sch = torch.optim.lr_scheduler.MultiStepLR(opt, s['milestones'], s.get('gamma', 0.1))
        elif k == 'exponential': sch = torch.optim.lr_scheduler.ExponentialLR(opt, s['gamma'])
        elif k == 'cosine': sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, s['totalSteps'], s.get('minLr', 0))
        lrs = []
        for _ in range(c['steps']):
            lrs.append(opt.param_groups[0]['lr'])
            opt.step(); sch.step()
        out.append({'name': c['name'], 'lrs': lrs})
    return out


def run_random(cases):
    out = []
    for c in cases:
        torch.manual_seed(c['seed'])
        a = c.get('args', {})
        f = c['fn']
        if f == 'randn': r = torch.randn(a['shape'])
        elif f == 'rand': r = torch.rand(a['shape'])
        elif f == 'randint': r = torch.randint(a['low'], a['high'], a['shape'])
        elif f == 'randperm': r = torch.randperm(a['n'])
        elif f == 'bernoulli': r = torch.bernoulli(torch.full(a['shape'], a['p']))
        elif f == 'normal': r = torch.empty(a['shape']).normal_(a['mean'], a['std'])
        elif f == 'uniform': r = torch.empty(a['shape']).uniform_(a['low'], a['high'])
        elif f == 'multinomial': r = torch.multinomial(torch.tensor(a['probs']), a['n'], a['replacement'])
        else: raise SystemExit(f'unknown random fn {f}')
        out.append({'name': c['name'], 'out': enc(r)})
    return out


def read_state_file(path):
    """Reads a tsnas state-dict file (format documented in src/nn/state.ts) into torch tensors."""
    import numpy as np, struct
    b = open(path, 'rb').read()
    assert b[:8] == b'TSNASSD1', 'bad magic'
    (h,) = struct.unpack_from('<I', b, 8)
    header = json.loads(b[12:12 + h].decode('utf8'))
    start = (12 + h + 7) // 8 * 8
    npdt = {'float32': '<f4', 'float64': '<f8', 'int32': '<i4', 'int64': '<i8', 'bool': 'u1', 'uint8': 'u1'}
    out = {}
    for e in header['tensors']:
        a = np.frombuffer(b, dtype=npdt[e['dtype']], count=e['length'] // np.dtype(npdt[e['dtype']]).itemsize, offset=start + e['offset'])
        t = torch.from_numpy(a.copy()).reshape(e['shape'])
        out[e['name']] = t.bool() if e['dtype'] == 'bool' else t
    return out, header.get('meta', {})


def run_statefile(cases):
    out = []
    for c in cases:
        m = build(c['spec'])
        sd, _ = read_state_file(c['path'])
        m.load_state_dict(sd)
        m.eval()
        with torch.no_grad():
            y = m(mk(c['input']))
        out.append({'out': enc(y)})
    return out


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(1)
    mode = req['mode']
    fn = {'ops': run_ops, 'modules': run_modules, 'optim': run_optim, 'sched': run_sched, 'random': run_random,
          'statefile': run_statefile}[mode]
    json.dump({'torch': torch.__version__, 'results': fn(req['cases'])}, sys.stdout)


if __name__ == '__main__':
    main()
