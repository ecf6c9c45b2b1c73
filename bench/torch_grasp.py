#!/usr/bin/python3
"""grasp (Wang et al. 2020) in PyTorch, the reference computation of Abdelfattah et al. 2021
(foresight/pruners/measures/grasp.py: autograd.grad with create_graph, z = sum(g.data * g_f),
z.backward(), score = sum(-theta * H g)), on the MLPs exported by bench/grasp.ts (same weights, same
batch). Run with Debian's /usr/bin/python3. Usage: torch_grasp.py NETS.json; one JSON line per net.
"""
import sys, json, torch, torch.nn as nn, torch.nn.functional as F
from torch import autograd
d = json.load(open(sys.argv[1]))
x = torch.tensor(d['x']).reshape(16, 12); y = torch.tensor(d['y'])
for n in d['nets']:
    act = nn.ReLU if n['act'] == 'relu' else nn.Tanh
    if n['bn']:
        net = nn.Sequential(nn.Flatten(), nn.Linear(12,16), nn.BatchNorm1d(16), act(), nn.Linear(16,8), nn.BatchNorm1d(8), act(), nn.Linear(8,3))
    else:
        net = nn.Sequential(nn.Flatten(), nn.Linear(12,16), act(), nn.Linear(16,8), act(), nn.Linear(8,3))
    sd = {k: torch.tensor(v['data']).reshape(v['shape']) if v['shape'] else torch.tensor(v['data'][0]) for k, v in n['sd'].items()}
    sd = {k: (v.long() if k.endswith('num_batches_tracked') else v) for k, v in sd.items()}
    net.load_state_dict(sd)
    net.train()
    # Wang et al. 2020 / Abdelfattah et al. 2021 foresight/pruners/measures/grasp.py (T=1, one split)
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    grad_w = autograd.grad(F.cross_entropy(net(x), y), weights)
    grad_f = autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True)
    z = sum((gw.data * gf).sum() for gw, gf in zip(grad_w, grad_f))
    z.backward()
    score = sum((-w.data * w.grad).sum().item() for w in weights)
    print(json.dumps({'act': n['act'], 'bn': n['bn'], 'seed': n['seed'], 'torch': score, 'tsnas_exact': n['exact'], 'tsnas_fd_1e-3': n['fd1e3'], 'rel_diff_exact': abs(score - n['exact']) / abs(score)}))
