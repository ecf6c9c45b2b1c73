// Optimizers as native loops over parameter lists (one N-API call per step), with PyTorch 1.13's
// exact single-tensor update formulas for SGD (momentum, dampening, Nesterov, weight decay),
// Adam/AdamW (incl. amsgrad); and gradient clipping by total norm.
#include "optim.h"

#include <ATen/Parallel.h>
#include <cmath>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

// One parameter's Adam/AdamW update in one pass over p, g, m, v (float32, contiguous, no amsgrad):
// the arithmetic of the per-tensor ATen ops below (each scalar cast to float as ATen does), without
// the 7 op dispatches and 2 temporaries per parameter. `decay` is AdamW's p *= 1 - lr*wd (1 for
// Adam), `wd` Adam's g += wd*p (0 for AdamW). Writes raw memory, so it bumps the version counters
// of p, m and v as the in-place ops would (graph.cc's folded-weight cache reads them).
static void adamFused(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, bool negate, float decay, float wd, float b1,
                      float omb1, float b2, float omb2, float bc2Sqrt, float eps, float negStep) {
  float* pp = p.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  float* mp = m.data_ptr<float>();
  float* vp = v.data_ptr<float>();
  at::parallel_for(0, p.numel(), 32768, [&](int64_t b, int64_t e) {
    int64_t i = b;
#ifdef __SSE2__
    const __m128 vdecay = _mm_set1_ps(decay), vwd = _mm_set1_ps(wd), vb1 = _mm_set1_ps(b1), vomb1 = _mm_set1_ps(omb1), vb2 = _mm_set1_ps(b2),
                 vomb2 = _mm_set1_ps(omb2), vbc = _mm_set1_ps(bc2Sqrt), veps = _mm_set1_ps(eps), vstep = _mm_set1_ps(negStep),
                 sign = _mm_set1_ps(negate ? -0.0f : 0.0f);
    for (; i + 4 <= e; i += 4) {
      __m128 x = _mm_loadu_ps(pp + i);
      __m128 gr = _mm_xor_ps(_mm_loadu_ps(gp + i), sign);
      if (decay != 1.0f) x = _mm_mul_ps(x, vdecay);
      if (wd != 0.0f) gr = _mm_add_ps(gr, _mm_mul_ps(vwd, x));
      __m128 mm = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(mp + i), vb1), _mm_mul_ps(vomb1, gr));
      __m128 vv = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(vp + i), vb2), _mm_mul_ps(_mm_mul_ps(vomb2, gr), gr));
      __m128 den = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vv), vbc), veps);
      x = _mm_add_ps(x, _mm_div_ps(_mm_mul_ps(vstep, mm), den));  // addcdiv: self + value * t1 / t2
      _mm_storeu_ps(mp + i, mm);
      _mm_storeu_ps(vp + i, vv);
      _mm_storeu_ps(pp + i, x);
    }
#endif
    for (; i < e; i++) {
      float x = pp[i];
      float gr = negate ? -gp[i] : gp[i];
      if (decay != 1.0f) x = x * decay;
      if (wd != 0.0f) gr = gr + wd * x;
      float mm = mp[i] * b1;
      mm = mm + omb1 * gr;
      float vv = vp[i] * b2;
      vv = vv + omb2 * gr * gr;
      float den = std::sqrt(vv) / bc2Sqrt + eps;
      x = x + negStep * mm / den;
      mp[i] = mm;
      vp[i] = vv;
      pp[i] = x;
    }
  });
  for (at::Tensor* t : {&p, &m, &v}) t->unsafeGetTensorImpl()->bump_version();
}

static bool fusable(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v) {
  for (const at::Tensor* t : {&p, &g, &m, &v})
    if (t->scalar_type() != at::kFloat || !t->is_contiguous() || t->device().type() != at::kCPU || t->layout() != at::kStrided ||
        t->numel() != p.numel() || t->is_neg() || t->is_conj())
      return false;
  // g must not alias p, m or v (the loop reads g after writing the others' elements)
  const void* gd = g.data_ptr();
  return gd != p.data_ptr() && gd != m.data_ptr() && gd != v.data_ptr();
}

static void adamStep(Optim& o) {
  for (size_t i = 0; i < o.params.size(); i++) {
    at::Tensor& p = o.params[i];
    const at::Tensor& g0 = p.grad();
    if (!g0.defined()) continue;
    if (!o.buf1[i].defined()) {
      o.buf1[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
      o.buf2[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
      if (o.amsgrad) o.buf3[i] = at::zeros_like(p, at::MemoryFormat::Preserve);
    }
    int64_t step = ++o.steps[i];
    at::Tensor& m = o.buf1[i];
    at::Tensor& v = o.buf2[i];
    double bc1 = 1 - std::pow(o.b1, static_cast<double>(step));
    double bc2 = 1 - std::pow(o.b2, static_cast<double>(step));
    double stepSize = o.lr / bc1;
    double bc2Sqrt = std::sqrt(bc2);
    if (!o.amsgrad && fusable(p, g0, m, v)) {
      adamFused(p, g0, m, v, o.maximize, o.kind == 2 ? static_cast<float>(1 - o.lr * o.wd) : 1.0f, o.kind == 2 ? 0.0f : static_cast<float>(o.wd),
                static_cast<float>(o.b1), static_cast<float>(1 - o.b1), static_cast<float>(o.b2), static_cast<float>(1 - o.b2),
                static_cast<float>(bc2Sqrt), static_cast<float>(o.eps), static_cast<float>(-stepSize));
      continue;
    }
    at::Tensor g = o.maximize ? -g0 : g0;
    if (o.kind == 2) p.mul_(1 - o.lr * o.wd);
    else if (o.wd != 0) g = g.add(p, o.wd);
    m.mul_(o.b1).add_(g, 1 - o.b1);
    v.mul_(o.b2).addcmul_(g, g, 1 - o.b2);
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
