// Handles, conversion to/from TypedArrays, autograd, generators and threads.
#include "common.h"
#include "alloc.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <ATen/CPUGeneratorImpl.h>
#include <cstring>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <dlfcn.h>
#include <deque>
#include <sstream>

namespace tsnas {

std::atomic<int64_t> g_live{0};

at::ScalarType toScalarType(int32_t code) {
  switch (code) {
    case kF32: return at::kFloat;
    case kI64: return at::kLong;
    case kBool: return at::kBool;
    case kF64: return at::kDouble;
    case kI32: return at::kInt;
    case kU8: return at::kByte;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int32_t fromScalarType(at::ScalarType st) {
  switch (st) {
    case at::kFloat: return kF32;
    case at::kLong: return kI64;
    case at::kBool: return kBool;
    case at::kDouble: return kF64;
    case at::kInt: return kI32;
    case at::kByte: return kU8;
    default: return -1;
  }
}

static int64_t bytesOf(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

// A deque keeps references to slots stable while new slots are appended.
static std::deque<Slot> g_slots;
static std::vector<uint32_t> g_free;
static constexpr double kGenUnit = 16777216.0;  // 2^24 slots
static constexpr uint32_t kGenMask = (1u << 28) - 1;

Slot* slotOf(double id) {
  if (!(id >= kGenUnit) || id > 9.0e15) return nullptr;
  uint64_t u = static_cast<uint64_t>(id);
  if (static_cast<double>(u) != id) return nullptr;
  uint32_t idx = static_cast<uint32_t>(u & 0xFFFFFF);
  uint32_t gen = static_cast<uint32_t>(u >> 24);
  if (idx >= g_slots.size()) return nullptr;
  Slot& s = g_slots[idx];
  if (s.gen != gen || !s.t.defined()) return nullptr;
  return &s;
}

void releaseId(Napi::Env env, double id) {
  Slot* s = slotOf(id);
  if (!s) return;
  s->t = at::Tensor();
  g_live--;
  if (s->accounted) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -s->accounted);
    s->accounted = 0;
  }
  s->gen = (s->gen + 1) & kGenMask;
  if (s->gen == 0) s->gen = 1;
  g_free.push_back(static_cast<uint32_t>(static_cast<uint64_t>(id) & 0xFFFFFF));
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  uint32_t idx;
  if (!g_free.empty()) {
    idx = g_free.back();
    g_free.pop_back();
  } else {
    if (g_slots.size() >= 0xFFFFFF) throwNas(env, "native_error", "more than 16M live tensors: dispose() tensors or use tidy()");
    idx = static_cast<uint32_t>(g_slots.size());
    g_slots.emplace_back();
  }
  Slot& s = g_slots[idx];
  s.t = std::move(t);
  g_live++;
  return Napi::Number::New(env, static_cast<double>(s.gen) * kGenUnit + idx);
}

at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " is not a tensor id");
  Slot* s = slotOf(v.As<Napi::Number>().DoubleValue());
  if (!s) throwNas(info.Env(), "disposed", "tensor used after dispose()");
  return s->t;
}

at::Tensor optTensorArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return at::Tensor();
  return tensorArg(info, i);
}

std::vector<int64_t> intsArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (v.IsNumber()) return {v.As<Napi::Number>().Int64Value()};
  Napi::Array a = v.As<Napi::Array>();
  uint32_t n = a.Length();
  std::vector<int64_t> out(n);
  for (uint32_t k = 0; k < n; k++) out[k] = a.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

std::vector<at::Tensor> tensorsArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Array a = info[i].As<Napi::Array>();
  uint32_t n = a.Length();
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (uint32_t k = 0; k < n; k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "list element " + std::to_string(k) + " is not a tensor id");
    Slot* s = slotOf(v.As<Napi::Number>().DoubleValue());
    if (!s) throwNas(info.Env(), "disposed", "tensor used after dispose()");
    out.push_back(s->t);
  }
  return out;
}

at::Scalar scalarOf(const Napi::Value& v) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  double d = v.As<Napi::Number>().DoubleValue();
  // An integral JS number is an integer scalar, as in Python, so int64 tensors stay int64.
  if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 9.0e15) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

std::string shapeStr(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  s << "[";
  auto sz = t.sizes();
  for (size_t k = 0; k < sz.size(); k++) s << (k ? "," : "") << sz[k];
  s << "] " << c10::toString(t.scalar_type());
  return s.str();
}

void throwNas(Napi::Env env, const char* code, const std::string& message) {
  EnvData* d = env.GetInstanceData<EnvData>();
  if (d && !d->errorFactory.IsEmpty()) {
    Napi::Value err = d->errorFactory.Call({Napi::String::New(env, code), Napi::String::New(env, message), env.Null()});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, std::string(code) + ": " + message);
}

void throwTorch(const Napi::CallbackInfo& info, const char* op, const std::string& what) {
  Napi::Env env = info.Env();
  std::string first = what.substr(0, what.find('\n'));
  std::vector<std::string> shapes;
  for (size_t i = 0; i < info.Length(); i++) {
    Napi::Value v = info[i];
    if (v.IsNumber()) {
      Slot* s = slotOf(v.As<Napi::Number>().DoubleValue());
      if (s) shapes.push_back(shapeStr(s->t));
    } else if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t k = 0; k < a.Length(); k++) {
        Napi::Value e = a.Get(k);
        if (!e.IsNumber()) continue;
        Slot* s = slotOf(e.As<Napi::Number>().DoubleValue());
        if (s) shapes.push_back(shapeStr(s->t));
      }
    }
  }
  std::string lower = first;
  for (auto& c : lower) c = static_cast<char>(std::tolower(c));
  bool shape = lower.find("size") != std::string::npos || lower.find("shape") != std::string::npos ||
               lower.find("dimension") != std::string::npos || lower.find("mat1") != std::string::npos ||
               lower.find("broadcast") != std::string::npos || lower.find("channels") != std::string::npos;
  std::string msg = std::string(op) + ": " + first + " (inputs: ";
  for (size_t k = 0; k < shapes.size(); k++) msg += (k ? ", " : "") + shapes[k];
  msg += ")";
  EnvData* d = env.GetInstanceData<EnvData>();
  if (d && !d->errorFactory.IsEmpty()) {
    Napi::Object details = Napi::Object::New(env);
    details.Set("op", op);
    Napi::Array sh = Napi::Array::New(env, shapes.size());
    for (size_t k = 0; k < shapes.size(); k++) sh.Set(static_cast<uint32_t>(k), shapes[k]);
    details.Set("inputs", sh);
    details.Set("libtorch", first);
    Napi::Value err = d->errorFactory.Call({Napi::String::New(env, shape ? "shape_mismatch" : "native_error"), Napi::String::New(env, msg), details});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, msg);
}

// ---------------------------------------------------------------- lifecycle, info

TS_FN(setErrorFactory) {
  EnvData* d = info.Env().GetInstanceData<EnvData>();
  d->errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

TS_FN(dispose) {
  Napi::Value v = info[0];
  if (v.IsNumber()) releaseId(info.Env(), v.As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// Reports a tensor's storage to V8 as external memory. Called by the JS side only for tensors the
// GC backstop owns (created or kept outside every tidy scope): those are the ones a collection can
// free. Tensors inside a scope are freed deterministically; reporting their (often large, short-lived)
// activations made V8 start a major GC nearly every training step, which cost ~8% of a 2-core run.
TS_FN(account) {
  Napi::Value v = info[0];
  if (!v.IsNumber()) return info.Env().Undefined();
  Slot* s = slotOf(v.As<Napi::Number>().DoubleValue());
  if (!s || s->accounted) return info.Env().Undefined();
  int64_t b = bytesOf(s->t);
  if (b >= 4096) {  // small storage would only add calls
    s->accounted = b;
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), b);
  }
  return info.Env().Undefined();
}

// Bytes V8 counts as external memory for this isolate (what account() adds to), for tests.
TS_FN(externalMemory) {
  return Napi::Number::New(info.Env(), static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(info.Env(), 0)));
}

TS_FN(liveTensors) { return Napi::Number::New(info.Env(), static_cast<double>(g_live.load())); }

TS_FN(shape) {
  TS_TRY
  at::Tensor& t = tensorArg(info, 0);
  auto sz = t.sizes();
  Napi::Array a = Napi::Array::New(info.Env(), sz.size());
  for (size_t k = 0; k < sz.size(); k++) a.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(sz[k])));
  return a;
  TS_CATCH("shape")
}

TS_FN(dtype) {
  TS_TRY
  return Napi::Number::New(info.Env(), fromScalarType(tensorArg(info, 0).scalar_type()));
  TS_CATCH("dtype")
}

TS_FN(numel) {
  TS_TRY
  return Napi::Number::New(info.Env(), static_cast<double>(tensorArg(info, 0).numel()));
  TS_CATCH("numel")
}

TS_FN(toString_) {
  TS_TRY
  std::ostringstream s;
  s << tensorArg(info, 0);
  return Napi::String::New(info.Env(), s.str());
  TS_CATCH("toString")
}

// ---------------------------------------------------------------- creation / conversion

// fromTyped(typedArray, shape, dtypeCode): copies the data; the source element type follows the array.
TS_FN(fromTyped) {
  TS_TRY
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  auto shape = intsArg(info, 1);
  at::ScalarType target = toScalarType(static_cast<int32_t>(i64(info, 2)));
  at::ScalarType src;
  switch (ta.TypedArrayType()) {
    case napi_float32_array: src = at::kFloat; break;
    case napi_float64_array: src = at::kDouble; break;
    case napi_int32_array: src = at::kInt; break;
    case napi_bigint64_array: src = at::kLong; break;
    case napi_uint8_array: src = at::kByte; break;
    default: throw Napi::TypeError::New(info.Env(), "fromTyped: unsupported TypedArray type");
  }
  int64_t n = 1;
  for (auto s : shape) n *= s;
  if (static_cast<int64_t>(ta.ElementLength()) != n)
    throwNas(info.Env(), "shape_mismatch", "fromArray: " + std::to_string(ta.ElementLength()) + " values do not fill shape of " + std::to_string(n) + " elements");
  uint8_t* data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(src));
  if (n) std::memcpy(t.data_ptr(), data, ta.ByteLength());
  if (src == at::kByte && target == at::kBool) t = t.ne(0);
  else if (src != target) t = t.to(target);
  return wrap(info.Env(), std::move(t));
  TS_CATCH("fromArray")
}

// toTyped(t): a copy of the data as the TypedArray matching its dtype (bool -> Uint8Array).
TS_FN(toTyped) {
  TS_TRY
  Napi::Env env = info.Env();
  at::Tensor t = tensorArg(info, 0).detach().contiguous();
  at::ScalarType st = t.scalar_type();
  if (st == at::kBool) t = t.to(at::kByte), st = at::kByte;
  if (fromScalarType(st) < 0) t = t.to(at::kFloat), st = at::kFloat;
  size_t nbytes = t.numel() * t.element_size();
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, nbytes);
  if (nbytes) std::memcpy(buf.Data(), t.data_ptr(), nbytes);
  size_t n = t.numel();
  switch (st) {
    case at::kFloat: return Napi::Float32Array::New(env, n, buf, 0);
    case at::kDouble: return Napi::Float64Array::New(env, n, buf, 0);
    case at::kLong: return Napi::TypedArrayOf<int64_t>::New(env, n, buf, 0, napi_bigint64_array);
    case at::kInt: return Napi::Int32Array::New(env, n, buf, 0);
    default: return Napi::Uint8Array::New(env, n, buf, 0);
  }
  TS_CATCH("toArray")
}

// toFloat64(t): a copy as Float64Array whatever the dtype (for number[] conversion of any tensor).
TS_FN(toFloat64) {
  TS_TRY
  Napi::Env env = info.Env();
  at::Tensor t = tensorArg(info, 0).detach().to(at::kDouble).contiguous();
  size_t n = t.numel();
  Napi::Float64Array a = Napi::Float64Array::New(env, n);
  if (n) std::memcpy(a.Data(), t.data_ptr(), n * 8);
  return a;
  TS_CATCH("toArray")
}

TS_FN(item) {
  TS_TRY
  at::Tensor& t = tensorArg(info, 0);
  if (t.numel() != 1) throwNas(info.Env(), "shape_mismatch", "item: tensor of shape " + shapeStr(t) + " has " + std::to_string(t.numel()) + " elements, not 1");
  if (t.scalar_type() == at::kBool) return Napi::Boolean::New(info.Env(), t.item<bool>());
  return Napi::Number::New(info.Env(), t.item<double>());
  TS_CATCH("item")
}

TS_FN(full) {
  TS_TRY
  auto shape = intsArg(info, 0);
  at::ScalarType st = toScalarType(static_cast<int32_t>(i64(info, 2)));
  return wrap(info.Env(), at::full(shape, scalarOf(info[1]), at::TensorOptions().dtype(st)));
  TS_CATCH("full")
}

TS_FN(arange) {
  TS_TRY
  at::ScalarType st = toScalarType(static_cast<int32_t>(i64(info, 3)));
  return wrap(info.Env(), at::arange(scalarOf(info[0]), scalarOf(info[1]), scalarOf(info[2]), at::TensorOptions().dtype(st)));
  TS_CATCH("arange")
}

TS_FN(linspace) {
  TS_TRY
  at::ScalarType st = toScalarType(static_cast<int32_t>(i64(info, 3)));
  return wrap(info.Env(), at::linspace(scalarOf(info[0]), scalarOf(info[1]), i64(info, 2), at::TensorOptions().dtype(st)));
  TS_CATCH("linspace")
}

TS_FN(eye) {
  TS_TRY
  at::ScalarType st = toScalarType(static_cast<int32_t>(i64(info, 1)));
  return wrap(info.Env(), at::eye(i64(info, 0), at::TensorOptions().dtype(st)));
  TS_CATCH("eye")
}

TS_FN(fullLike) {
  TS_TRY
  return wrap(info.Env(), at::full_like(tensorArg(info, 0), scalarOf(info[1])));
  TS_CATCH("fullLike")
}

// ---------------------------------------------------------------- autograd

TS_FN(setRequiresGrad) {
  TS_TRY
  tensorArg(info, 0).set_requires_grad(flag(info, 1));
  return info.Env().Undefined();
  TS_CATCH("requiresGrad_")
}

TS_FN(requiresGrad) {
  TS_TRY
  return Napi::Boolean::New(info.Env(), tensorArg(info, 0).requires_grad());
  TS_CATCH("requiresGrad")
}

TS_FN(isLeaf) {
  TS_TRY
  return Napi::Boolean::New(info.Env(), tensorArg(info, 0).is_leaf());
  TS_CATCH("isLeaf")
}

TS_FN(grad) {
  TS_TRY
  const at::Tensor& g = tensorArg(info, 0).grad();
  if (!g.defined()) return info.Env().Undefined();
  return wrap(info.Env(), g);
  TS_CATCH("grad")
}

TS_FN(setGrad) {
  TS_TRY
  at::Tensor& t = tensorArg(info, 0);
  t.mutable_grad() = optTensorArg(info, 1);
  return info.Env().Undefined();
  TS_CATCH("setGrad")
}

// zeroGrad(t): drops the gradient (PyTorch's set_to_none=True): the next backward allocates it.
TS_FN(zeroGrad) {
  TS_TRY
  tensorArg(info, 0).mutable_grad().reset();
  return info.Env().Undefined();
  TS_CATCH("zeroGrad")
}

TS_FN(zeroGrads) {
  TS_TRY
  for (auto& t : tensorsArg(info, 0)) t.mutable_grad().reset();
  return info.Env().Undefined();
  TS_CATCH("zeroGrad")
}

// autogradGrad(outputs[], inputs[], createGraph, retainGraph) -> (handle | undefined)[]:
// torch.autograd.grad(outputs, inputs, allow_unused=True), the gradient of the sum of the (scalar)
// outputs w.r.t. each input, without touching any .grad field; undefined for an input the outputs
// do not depend on. createGraph records the backward pass so the results can be differentiated
// again (double backward: Hessian-vector products); it implies retainGraph, as in PyTorch.
TS_FN(autogradGrad) {
  TS_TRY
  Napi::Env env = info.Env();
  std::vector<at::Tensor> outs = tensorsArg(info, 0);
  std::vector<at::Tensor> ins = tensorsArg(info, 1);
  bool create = info.Length() > 2 && flag(info, 2);
  bool retain = create || (info.Length() > 3 && flag(info, 3));
  std::vector<at::Tensor> gs = torch::autograd::grad(outs, ins, {}, retain, create, true);
  Napi::Array a = Napi::Array::New(env, gs.size());
  for (size_t i = 0; i < gs.size(); i++) a.Set(static_cast<uint32_t>(i), gs[i].defined() ? wrap(env, gs[i]) : env.Undefined());
  return a;
  TS_CATCH("grad")
}

// backward(t, gradOrUndefined, retainGraph)
TS_FN(backward) {
  TS_TRY
  at::Tensor& t = tensorArg(info, 0);
  at::Tensor g = optTensorArg(info, 1);
  bool retain = info.Length() > 2 && flag(info, 2);
  t.backward(g, retain, false);
  return info.Env().Undefined();
  TS_CATCH("backward")
}

TS_FN(detach) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).detach());
  TS_CATCH("detach")
}

// setGradEnabled(bool) -> previous value
TS_FN(setGradEnabled) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(flag(info, 0));
  return Napi::Boolean::New(info.Env(), prev);
}

TS_FN(isGradEnabled) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// ---------------------------------------------------------------- generators

at::Generator& genArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " is not a generator");
  return info[i].As<Napi::External<GenHandle>>().Data()->g;
}

TS_FN(genNew) {
  TS_TRY
  auto* gh = new GenHandle{at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(i64(info, 0)))};
  return Napi::External<GenHandle>::New(info.Env(), gh, [](Napi::Env, GenHandle* g) { delete g; });
  TS_CATCH("Generator")
}

TS_FN(genSeed) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_current_seed(static_cast<uint64_t>(i64(info, 1)));
  return info.Env().Undefined();
  TS_CATCH("manualSeed")
}

TS_FN(genGetState) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  at::Tensor s;
  {
    std::lock_guard<std::mutex> lock(g.mutex());
    s = g.get_state();
  }
  s = s.contiguous();
  Napi::Uint8Array a = Napi::Uint8Array::New(info.Env(), s.numel());
  std::memcpy(a.Data(), s.data_ptr(), s.numel());
  return a;
  TS_CATCH("Generator.state")
}

TS_FN(genSetState) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  Napi::Uint8Array a = info[1].As<Napi::Uint8Array>();
  at::Tensor s = at::empty({static_cast<int64_t>(a.ElementLength())}, at::kByte);
  std::memcpy(s.data_ptr(), a.Data(), a.ElementLength());
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(s);
  return info.Env().Undefined();
  TS_CATCH("Generator.setState")
}

// randn(gen, shape, dtype) / rand(gen, shape, dtype)
TS_FN(randn) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  return wrap(info.Env(), at::randn(intsArg(info, 1), g, at::TensorOptions().dtype(toScalarType(static_cast<int32_t>(i64(info, 2))))));
  TS_CATCH("randn")
}

TS_FN(rand) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  return wrap(info.Env(), at::rand(intsArg(info, 1), g, at::TensorOptions().dtype(toScalarType(static_cast<int32_t>(i64(info, 2))))));
  TS_CATCH("rand")
}

// randint(gen, low, high, shape)
TS_FN(randint) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  return wrap(info.Env(), at::randint(i64(info, 1), i64(info, 2), intsArg(info, 3), g, at::TensorOptions().dtype(at::kLong)));
  TS_CATCH("randint")
}

TS_FN(randperm) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  return wrap(info.Env(), at::randperm(i64(info, 1), g, at::TensorOptions().dtype(at::kLong)));
  TS_CATCH("randperm")
}

// bernoulli(gen, probs): 0/1 draws of probs' dtype
TS_FN(bernoulli) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  return wrap(info.Env(), at::bernoulli(tensorArg(info, 1), g));
  TS_CATCH("bernoulli")
}

// normal_(gen, t, mean, std) / uniform_(gen, t, lo, hi): in place, for initialisation (no autograd).
TS_FN(normal_) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  at::NoGradGuard ng;
  tensorArg(info, 1).normal_(num(info, 2), num(info, 3), g);
  return info.Env().Undefined();
  TS_CATCH("normal_")
}

TS_FN(uniform_) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  at::NoGradGuard ng;
  tensorArg(info, 1).uniform_(num(info, 2), num(info, 3), g);
  return info.Env().Undefined();
  TS_CATCH("uniform_")
}

// multinomial(gen, probs, n, replacement)
TS_FN(multinomial) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  return wrap(info.Env(), at::multinomial(tensorArg(info, 1), i64(info, 2), flag(info, 3), g));
  TS_CATCH("multinomial")
}

// ---------------------------------------------------------------- threads

TS_FN(setNumThreads) {
  TS_TRY
  at::set_num_threads(static_cast<int>(i64(info, 0)));
  return info.Env().Undefined();
  TS_CATCH("setNumThreads")
}
TS_FN(getNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }
TS_FN(setNumInteropThreads) {
  TS_TRY
  at::set_num_interop_threads(static_cast<int>(i64(info, 0)));
  return info.Env().Undefined();
  TS_CATCH("setNumInteropThreads")
}
TS_FN(getNumInteropThreads) { return Napi::Number::New(info.Env(), at::get_num_interop_threads()); }

}  // namespace tsnas

using namespace tsnas;

// Tensor buffers of a few hundred KB to a few MB are allocated and freed every training step. In a
// Node process glibc ends up serving them with fresh mmap/munmap each time (page faults and zeroing:
// measured 2x the CPU time of the same NB201 step in Python), so fix the thresholds at the values
// glibc's dynamic adjustment reaches in a Python process. Buffers of 1 MiB and more do not reach
// glibc at all: they go through the caching allocator of alloc.cc (installed in Init). Respects
// MALLOC_* env settings; TSNAS_KEEP_MALLOC=1 leaves malloc untouched.
static void tuneMalloc() {
#if defined(__GLIBC__)
  if (std::getenv("TSNAS_KEEP_MALLOC") || std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

namespace tsnas {
// Gives idle memory back to the system: the caching allocator's freed blocks and glibc's free heap
// (malloc_trim). Returns the bytes the cache released.
TS_FN(trimMemory) {
  const double released = static_cast<double>(trimCache());
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return Napi::Number::New(info.Env(), released);
}
// The caching allocator's counters (alloc.h CacheStats), bytes as numbers.
TS_FN(memoryCacheStats) {
  const CacheStats c = cacheStats();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("hits", static_cast<double>(c.hits));
  o.Set("misses", static_cast<double>(c.misses));
  o.Set("liveBytes", static_cast<double>(c.liveBytes));
  o.Set("idleBytes", static_cast<double>(c.idleBytes));
  o.Set("mappedBytes", static_cast<double>(c.mappedBytes));
  o.Set("limitBytes", static_cast<double>(c.limitBytes));
  return o;
}
}  // namespace tsnas

// libtorch runs matmul/linear on the system BLAS (Debian: libblas.so.3, an alternative). OpenBLAS
// comes in an OpenMP build, which runs on libtorch's own OpenMP pool and follows its thread count,
// and a pthreads build with a pool of its own (sized from OPENBLAS_NUM_THREADS / OMP_NUM_THREADS when
// it loads) whose workers spin with sched_yield for ~2^28 cycles after each call. Next to
// libtorch's OpenMP threads that oversubscribes the cores: measured with the pthreads build selected
// (what installing python3-sklearn's libopenblas-dev does, its alternative has the higher priority),
// the MLP workload trained at 41k samples/s instead of 64k on an idle machine and 2-5x slower still
// under load, in PyTorch from Python as much as here. scripts/setup selects the OpenMP build; when
// the pthreads build is loaded anyway, its pool is limited to the calling thread (matmuls then run
// in the thread libtorch calls them from, as the OpenMP build does inside a parallel region) unless
// OPENBLAS_NUM_THREADS / GOTO_NUM_THREADS says otherwise or TSNAS_KEEP_BLAS=1. blasInfo() reports it.
struct BlasState {
  std::string config;        // openblas_get_config(), or "" when the BLAS is not OpenBLAS
  int parallel = -1;         // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP; -1 unknown
  int threadsAtLoad = -1;    // its thread count when the addon loaded
  bool limited = false;      // set to 1 thread here
};
static BlasState g_blas;

static void tuneBlas() {
  void* h = nullptr;
  for (const char* name : {"libopenblas.so.0", "libblas.so.3"}) {
    h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (h && dlsym(h, "openblas_get_parallel")) break;
    if (h) dlclose(h);
    h = nullptr;
  }
  if (!h) return;
  auto getParallel = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_parallel"));
  auto getConfig = reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_config"));
  auto getThreads = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads"));
  auto setThreads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
  g_blas.parallel = getParallel();
  if (getConfig) g_blas.config = getConfig();
  if (getThreads) g_blas.threadsAtLoad = getThreads();
  bool userSet = std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("GOTO_NUM_THREADS") || std::getenv("TSNAS_KEEP_BLAS");
  if (g_blas.parallel == 1 && !userSet && setThreads && g_blas.threadsAtLoad != 1) {
    setThreads(1);
    g_blas.limited = true;
  }
  dlclose(h);  // the library stays loaded (libtorch needs it); this drops only our reference
}

// blasInfo() -> {openblas: config string or '', threading: 'pthreads'|'openmp'|'sequential'|'unknown', threadsAtLoad, limited}
static Napi::Value blasInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  r.Set("openblas", g_blas.config);
  const char* t = g_blas.parallel == 0 ? "sequential" : g_blas.parallel == 1 ? "pthreads" : g_blas.parallel == 2 ? "openmp" : "unknown";
  r.Set("threading", t);
  r.Set("threadsAtLoad", g_blas.threadsAtLoad);
  r.Set("limited", g_blas.limited);
  return r;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  installCachingAllocator();
  tuneBlas();
  // libtorch sizes the OpenMP pool lazily, at the first parallel ATen op. A BLAS call before that
  // (the OpenMP build of OpenBLAS follows omp_get_max_threads()) ran with libgomp's own default
  // thread count, so the first matmul of a process could differ in the last bits from later ones
  // with the same seed. Sizing the pool now makes every op run with the count from the start.
  at::init_num_threads();
  env.SetInstanceData<EnvData>(new EnvData());
  TS_EXPORT(exports, setErrorFactory);
  TS_EXPORT(exports, dispose);
  TS_EXPORT(exports, account);
  TS_EXPORT(exports, externalMemory);
  TS_EXPORT(exports, liveTensors);
  TS_EXPORT(exports, trimMemory);
  TS_EXPORT(exports, memoryCacheStats);
  TS_EXPORT(exports, shape);
  TS_EXPORT(exports, dtype);
  TS_EXPORT(exports, numel);
  exports.Set("toString", Napi::Function::New(env, toString_, "toString"));
  TS_EXPORT(exports, fromTyped);
  TS_EXPORT(exports, toTyped);
  TS_EXPORT(exports, toFloat64);
  TS_EXPORT(exports, item);
  TS_EXPORT(exports, full);
  TS_EXPORT(exports, arange);
  TS_EXPORT(exports, linspace);
  TS_EXPORT(exports, eye);
  TS_EXPORT(exports, fullLike);
  TS_EXPORT(exports, setRequiresGrad);
  TS_EXPORT(exports, requiresGrad);
  TS_EXPORT(exports, isLeaf);
  TS_EXPORT(exports, grad);
  TS_EXPORT(exports, setGrad);
  TS_EXPORT(exports, zeroGrad);
  TS_EXPORT(exports, zeroGrads);
  TS_EXPORT(exports, backward);
  TS_EXPORT(exports, autogradGrad);
  TS_EXPORT(exports, detach);
  TS_EXPORT(exports, setGradEnabled);
  TS_EXPORT(exports, isGradEnabled);
  TS_EXPORT(exports, genNew);
  TS_EXPORT(exports, genSeed);
  TS_EXPORT(exports, genGetState);
  TS_EXPORT(exports, genSetState);
  TS_EXPORT(exports, randn);
  TS_EXPORT(exports, rand);
  TS_EXPORT(exports, randint);
  TS_EXPORT(exports, randperm);
  TS_EXPORT(exports, bernoulli);
  TS_EXPORT(exports, normal_);
  TS_EXPORT(exports, uniform_);
  TS_EXPORT(exports, multinomial);
  TS_EXPORT(exports, setNumThreads);
  exports.Set("blasInfo", Napi::Function::New(env, blasInfo, "blasInfo"));
  TS_EXPORT(exports, getNumThreads);
  TS_EXPORT(exports, setNumInteropThreads);
  TS_EXPORT(exports, getNumInteropThreads);
  registerOps(env, exports);
  registerNnOps(env, exports);
  registerOptim(env, exports);
  registerQuant(env, exports);
  registerGraph(env, exports);
  return exports;
}

NODE_API_MODULE(tsnas_native, Init)
