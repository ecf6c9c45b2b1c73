// Optimizers as native loops over parameter lists (one N-API call per step), with PyTorch 1.13's
// exact single-tensor update formulas for SGD (momentum, dampening, Nesterov, weight decay),
// Adam/AdamW (incl. amsgrad); and gradient clipping by total norm.
#include "optim.h"

#include <cmath>

namespace tsnas {

Optim* optArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument is not an optimizer handle");
  return info[i].As<Napi::External<Optim>>().Data();
}

static double getNum(Napi::Object o, const char* k, double dflt) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
}
static bool getBool(Napi::Object o, const char* k) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

// optimNew(kind, params[], options{lr, momentum, dampening, weightDecay, nesterov, beta1, beta2, eps, amsgrad, maximize})
TS_FN(optimNew) {
  TS_TRY
  auto* o = new Optim();
  o->kind = static_cast<int>(i64(info, 0));
  o->params = tensorsArg(info, 1);
  Napi::Object opts = info[2].As<Napi::Object>();
  o->lr = getNum(opts, "lr", 1e-3);
  o->momentum = getNum(opts, "momentum", 0);
  o->dampening = getNum(opts, "dampening", 0);
  o->wd = getNum(opts, "weightDecay", o->kind == 2 ? 1e-2 : 0);
  o->nesterov = getBool(opts, "nesterov");
  o->b1 = getNum(opts, "beta1", 0.9);
  o->b2 = getNum(opts, "beta2", 0.999);
  o->eps = getNum(opts, "eps", 1e-8);
  o->amsgrad = getBool(opts, "amsgrad");
  o->maximize = getBool(opts, "maximize");
  size_t n = o->params.size();
  o->buf1.resize(n);
  o->buf2.resize(n);
  o->buf3.resize(n);
  o->steps.assign(n, 0);
  return Napi::External<Optim>::New(info.Env(), o, [](Napi::Env, Optim* o) { delete o; });
  TS_CATCH("optimizer")
}

static void sgdStep(Optim& o) {
  for (size_t i = 0; i < o.params.size(); i++) {
    at::Tensor& p = o.params[i];
    const at::Tensor& g0 = p.grad();
    if (!g0.defined()) continue;
    at::Tensor d = o.maximize ? -g0 : g0;
    if (o.wd != 0) d = d.add(p, o.wd);
    if (o.momentum != 0) {
      at::Tensor& buf = o.buf1[i];
      if (!buf.defined()) buf = at::clone(d).detach();
      else buf.mul_(o.momentum).add_(d, 1 - o.dampening);
      d = o.nesterov ? d.add(buf, o.momentum) : buf;
    }
    p.add_(d, -o.lr);
  }
}

static void adamStep(Optim& o) {
  for (size_t i = 0; i < o.params.size(); i++) {
    at::Tensor& p = o.params[i];
    const at::Tensor& g0 = p.grad();
    if (!g0.defined()) continue;
    at::Tensor g = o.maximize ? -g0 : g0;
    if (!o.buf1[i].defined()) {
      o.buf1[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
      o.buf2[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
      if (o.amsgrad) o.buf3[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
    }
    int64_t step = ++o.steps[i];
    if (o.kind == 2) p.mul_(1 - o.lr * o.wd);
    else if (o.wd != 0) g = g.add(p, o.wd);
    at::Tensor& m = o.buf1[i];
    at::Tensor& v = o.buf2[i];
    m.mul_(o.b1).add_(g, 1 - o.b1);
    v.mul_(o.b2).addcmul_(g, g, 1 - o.b2);
    double bc1 = 1 - std::pow(o.b1, static_cast<double>(step));
    double bc2 = 1 - std::pow(o.b2, static_cast<double>(step));
    double stepSize = o.lr / bc1;
    double bc2Sqrt = std::sqrt(bc2);
    at::Tensor denom;
    if (o.amsgrad) {
      at::maximum_out(o.buf3[i], o.buf3[i], v);
      denom = (o.buf3[i].sqrt() / bc2Sqrt).add_(o.eps);
    } else {
      denom = (v.sqrt() / bc2Sqrt).add_(o.eps);
    }
    p.addcdiv_(m, denom, -stepSize);
  }
}

void optimStepImpl(Optim& o) {
  at::NoGradGuard ng;
  if (o.kind == 0) sgdStep(o);
  else adamStep(o);
}

TS_FN(optimStep) {
  TS_TRY
  optimStepImpl(*optArg(info, 0));
  return info.Env().Undefined();
  TS_CATCH("optimizer.step")
}

TS_FN(optimZeroGrad) {
  TS_TRY
  for (auto& p : optArg(info, 0)->params) p.mutable_grad().reset();
  return info.Env().Undefined();
  TS_CATCH("optimizer.zeroGrad")
}

TS_FN(optimSetLr) {
  TS_TRY
  optArg(info, 0)->lr = num(info, 1);
  return info.Env().Undefined();
  TS_CATCH("optimizer.setLr")
}

TS_FN(optimGetLr) {
  TS_TRY
  return Napi::Number::New(info.Env(), optArg(info, 0)->lr);
  TS_CATCH("optimizer.lr")
}

// optimState(o) -> {steps: number[], buffers: [buf1[], buf2[], buf3[]]} with handles (or undefined)
TS_FN(optimState) {
  TS_TRY
  Napi::Env env = info.Env();
  Optim* o = optArg(info, 0);
  Napi::Object r = Napi::Object::New(env);
  size_t n = o->params.size();
  Napi::Array steps = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; i++) steps.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(o->steps[i])));
  r.Set("steps", steps);
  Napi::Array bufs = Napi::Array::New(env, 3);
  std::vector<at::Tensor>* all[3] = {&o->buf1, &o->buf2, &o->buf3};
  for (uint32_t b = 0; b < 3; b++) {
    Napi::Array a = Napi::Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
      const at::Tensor& t = (*all[b])[i];
      a.Set(static_cast<uint32_t>(i), t.defined() ? wrap(env, t.detach().clone()) : env.Undefined());
    }
    bufs.Set(b, a);
  }
  r.Set("buffers", bufs);
  return r;
  TS_CATCH("optimizer.state")
}

// optimLoadState(o, steps[], [buf1[], buf2[], buf3[]])
TS_FN(optimLoadState) {
  TS_TRY
  Napi::Env env = info.Env();
  Optim* o = optArg(info, 0);
  size_t n = o->params.size();
  Napi::Array steps = info[1].As<Napi::Array>();
  Napi::Array bufs = info[2].As<Napi::Array>();
  if (steps.Length() != n) throwNas(env, "shape_mismatch", "optimizer state has " + std::to_string(steps.Length()) + " parameters, optimizer has " + std::to_string(n));
  std::vector<at::Tensor>* all[3] = {&o->buf1, &o->buf2, &o->buf3};
  for (size_t i = 0; i < n; i++) o->steps[i] = steps.Get(static_cast<uint32_t>(i)).As<Napi::Number>().Int64Value();
  for (uint32_t b = 0; b < 3; b++) {
    Napi::Array a = bufs.Get(b).As<Napi::Array>();
    for (size_t i = 0; i < n; i++) {
      Napi::Value v = a.Get(static_cast<uint32_t>(i));
      Slot* slot = v.IsNumber() ? slotOf(v.As<Napi::Number>().DoubleValue()) : nullptr;
      if (slot) {
        at::Tensor t = slot->t;
        if (t.defined() && !t.sizes().equals(o->params[i].sizes()))
          throwNas(env, "shape_mismatch", "optimizer state buffer " + std::to_string(i) + " has shape " + shapeStr(t) + ", parameter has " + shapeStr(o->params[i]));
        (*all[b])[i] = t.defined() ? t.detach().clone() : at::Tensor();
      } else {
        (*all[b])[i] = at::Tensor();
      }
    }
  }
  return env.Undefined();
  TS_CATCH("optimizer.loadState")
}

// clipGradNorm(params[], maxNorm, normType) -> total norm before clipping (PyTorch 1.13 semantics)
TS_FN(clipGradNorm) {
  TS_TRY
  auto params = tensorsArg(info, 0);
  double maxNorm = num(info, 1), normType = num(info, 2);
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads;
  for (auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return Napi::Number::New(info.Env(), 0.0);
  at::Tensor total;
  if (std::isinf(normType)) {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(g.detach().abs().max());
    total = norms.size() == 1 ? norms[0] : at::stack(norms).max();
  } else {
    std::vector<at::Tensor> norms;
    for (auto& g : grads) norms.push_back(at::norm(g.detach(), normType));
    total = at::norm(at::stack(norms), normType);
  }
  at::Tensor coef = at::clamp(maxNorm / (total + 1e-6), c10::nullopt, 1.0);
  for (auto& g : grads) g.detach().mul_(coef);
  return Napi::Number::New(info.Env(), total.item<double>());
  TS_CATCH("clipGradNorm")
}

// gradNorm(params[]) -> total 2-norm of the gradients (no clipping)
TS_FN(gradNorm) {
  TS_TRY
  auto params = tensorsArg(info, 0);
  at::NoGradGuard ng;
  double s = 0;
  for (auto& p : params)
    if (p.grad().defined()) s += p.grad().detach().pow(2).sum().item<double>();
  return Napi::Number::New(info.Env(), std::sqrt(s));
  TS_CATCH("gradNorm")
}

}  // namespace tsnas

using namespace tsnas;

void registerOptim(Napi::Env env, Napi::Object exports) {
  TS_EXPORT(exports, optimNew);
  TS_EXPORT(exports, optimStep);
  TS_EXPORT(exports, optimZeroGrad);
  TS_EXPORT(exports, optimSetLr);
  TS_EXPORT(exports, optimGetLr);
  TS_EXPORT(exports, optimState);
  TS_EXPORT(exports, optimLoadState);
  TS_EXPORT(exports, clipGradNorm);
  TS_EXPORT(exports, gradNorm);
}
