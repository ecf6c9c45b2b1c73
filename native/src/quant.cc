// Quantized tensors and int8 kernels: a thin binding over libtorch's quantized engines (Debian's
// libtorch 1.13 ships qnnpack and onednn; no fbgemm). Quantized tensors live in the same slot table
// as float ones. Prepacked weights (conv/linear) are c10 custom-class objects, held here as an
// External owning the IValue. The quantized::* operators are called through the dispatcher, boxed,
// exactly as torch.ao's quantized modules call them. No NAS logic here: src/compress decides what
// to quantize and with which parameters.
#include "common.h"

#include <cstring>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/custom_class.h>

namespace tsnas {

// The prepacked weight as returned by quantized::conv2d_prepack / linear_prepack, and the engine's
// packed-params object inside it: quantized::conv2d(_relu) and linear(_relu/_dynamic) do nothing but
// call its apply/apply_relu/apply_dynamic (aten/src/ATen/native/quantized/cpu/qconv.cpp, qlinear.cpp),
// so the forward calls those directly instead of going through the boxed dispatcher.
struct Packed {
  c10::IValue v;
  c10::intrusive_ptr<ConvPackedParamsBase<2>> conv;
  c10::intrusive_ptr<LinearPackedParamsBase> linear;
};

static at::ScalarType qtype(int64_t code) {
  switch (code) {
    case 0: return at::kQUInt8;
    case 1: return at::kQInt8;
    case 2: return at::kQInt32;
  }
  throw std::invalid_argument("unknown quantized dtype code " + std::to_string(code));
}

static c10::QEngine engineOf(const std::string& name) {
  if (name == "qnnpack") return at::kQNNPACK;
  if (name == "onednn") return at::kONEDNN;
  if (name == "fbgemm") return at::kFBGEMM;
  if (name == "x86") return at::kX86;
  throw std::invalid_argument("unknown quantized engine " + name);
}

static std::string engineName(c10::QEngine e) {
  switch (e) {
    case at::kQNNPACK: return "qnnpack";
    case at::kONEDNN: return "onednn";
    case at::kFBGEMM: return "fbgemm";
    case at::kX86: return "x86";
    default: return "none";
  }
}

// Calls quantized::<name>[.<overload>] boxed with the given arguments; returns its first output.
static c10::IValue callOp(const char* name, const char* overload, std::vector<c10::IValue> args) {
  static std::unordered_map<std::string, c10::OperatorHandle> cache;
  std::string key = std::string(name) + "." + overload;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, c10::Dispatcher::singleton().findSchemaOrThrow(name, overload)).first;
  torch::jit::Stack stack(std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  it->second.callBoxed(&stack);
  return std::move(stack.at(0));
}

static Packed& packedArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " is not a packed weight");
  return *info[i].As<Napi::External<Packed>>().Data();
}

TS_FN(qEngines) {
  TS_TRY
  const auto& es = at::globalContext().supportedQEngines();
  Napi::Array a = Napi::Array::New(info.Env());
  uint32_t k = 0;
  for (auto e : es)
    if (e != at::kNoQEngine) a.Set(k++, engineName(e));
  return a;
  TS_CATCH("qEngines")
}

TS_FN(qEngine) {
  TS_TRY
  return Napi::String::New(info.Env(), engineName(at::globalContext().qEngine()));
  TS_CATCH("qEngine")
}

TS_FN(setQEngine) {
  TS_TRY
  at::globalContext().setQEngine(engineOf(info[0].As<Napi::String>().Utf8Value()));
  return info.Env().Undefined();
  TS_CATCH("setQEngine")
}

// quantizePerTensor(x, scale, zeroPoint, qdtype)
TS_FN(quantizePerTensor) {
  TS_TRY
  return wrap(info.Env(), at::quantize_per_tensor(tensorArg(info, 0), num(info, 1), i64(info, 2), qtype(i64(info, 3))));
  TS_CATCH("quantizePerTensor")
}

// quantizePerChannel(x, scales [C] float, zeroPoints [C] int64, axis, qdtype)
TS_FN(quantizePerChannel) {
  TS_TRY
  at::Tensor s = tensorArg(info, 1).to(at::kDouble);
  at::Tensor z = tensorArg(info, 2).to(at::kLong);
  return wrap(info.Env(), at::quantize_per_channel(tensorArg(info, 0), s, z, i64(info, 3), qtype(i64(info, 4))));
  TS_CATCH("quantizePerChannel")
}

TS_FN(dequantize) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).dequantize());
  TS_CATCH("dequantize")
}

// intRepr(q): the stored integers as an int32 tensor.
TS_FN(qIntRepr) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).int_repr().to(at::kInt));
  TS_CATCH("intRepr")
}

// qParams(q): {scheme, scale, zeroPoint} per tensor, or {scheme, scales: handle, zeroPoints: handle, axis}.
TS_FN(qParams) {
  TS_TRY
  Napi::Env env = info.Env();
  at::Tensor& q = tensorArg(info, 0);
  Napi::Object o = Napi::Object::New(env);
  if (!q.is_quantized()) throwNas(env, "dtype_error", "qParams: tensor " + shapeStr(q) + " is not quantized");
  if (q.qscheme() == at::kPerTensorAffine) {
    o.Set("scheme", "per_tensor");
    o.Set("scale", q.q_scale());
    o.Set("zeroPoint", static_cast<double>(q.q_zero_point()));
  } else {
    o.Set("scheme", "per_channel");
    o.Set("scales", wrap(env, q.q_per_channel_scales().to(at::kFloat)));
    o.Set("zeroPoints", wrap(env, q.q_per_channel_zero_points().to(at::kLong)));
    o.Set("axis", static_cast<double>(q.q_per_channel_axis()));
  }
  o.Set("dtype", q.scalar_type() == at::kQUInt8 ? 0 : q.scalar_type() == at::kQInt8 ? 1 : 2);
  return o;
  TS_CATCH("qParams")
}

// qPrepackConv(qweight, bias|null, stride[2], padding[2], dilation[2], groups)
TS_FN(qPrepackConv) {
  TS_TRY
  at::Tensor b = optTensorArg(info, 1);
  c10::optional<at::Tensor> bias = b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt;
  c10::IValue p = callOp("quantized::conv2d_prepack", "",
                         {tensorArg(info, 0), bias, c10::List<int64_t>(intsArg(info, 2)), c10::List<int64_t>(intsArg(info, 3)),
                          c10::List<int64_t>(intsArg(info, 4)), i64(info, 5)});
  auto* h = new Packed{p, p.toCustomClass<ConvPackedParamsBase<2>>(), {}};
  return Napi::External<Packed>::New(info.Env(), h, [](Napi::Env, Packed* x) { delete x; });
  TS_CATCH("qPrepackConv")
}

// qPrepackLinear(qweight, bias|null)
TS_FN(qPrepackLinear) {
  TS_TRY
  at::Tensor b = optTensorArg(info, 1);
  c10::optional<at::Tensor> bias = b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt;
  c10::IValue p = callOp("quantized::linear_prepack", "", {tensorArg(info, 0), bias});
  auto* h = new Packed{p, {}, p.toCustomClass<LinearPackedParamsBase>()};
  return Napi::External<Packed>::New(info.Env(), h, [](Napi::Env, Packed* x) { delete x; });
  TS_CATCH("qPrepackLinear")
}

// qConv(qx, packed, scale, zeroPoint, relu)
TS_FN(qConv) {
  TS_TRY
  Packed& p = packedArg(info, 1);
  if (!p.conv) throwNas(info.Env(), "dtype_error", "qConv: the packed weight is not a conv weight");
  at::Tensor& x = tensorArg(info, 0);
  return wrap(info.Env(), flag(info, 4) ? p.conv->apply_relu(x, num(info, 2), i64(info, 3)) : p.conv->apply(x, num(info, 2), i64(info, 3)));
  TS_CATCH("qConv")
}

// qLinear(qx, packed, scale, zeroPoint, relu)
TS_FN(qLinear) {
  TS_TRY
  Packed& p = packedArg(info, 1);
  if (!p.linear) throwNas(info.Env(), "dtype_error", "qLinear: the packed weight is not a linear weight");
  at::Tensor& x = tensorArg(info, 0);
  return wrap(info.Env(), flag(info, 4) ? p.linear->apply_relu(x, num(info, 2), i64(info, 3)) : p.linear->apply(x, num(info, 2), i64(info, 3)));
  TS_CATCH("qLinear")
}

// qLinearDynamic(x float, packed, reduceRange): activations quantized on the fly, float output.
TS_FN(qLinearDynamic) {
  TS_TRY
  Packed& p = packedArg(info, 1);
  if (!p.linear) throwNas(info.Env(), "dtype_error", "qLinearDynamic: the packed weight is not a linear weight");
  return wrap(info.Env(), p.linear->apply_dynamic(tensorArg(info, 0), flag(info, 2)));
  TS_CATCH("qLinearDynamic")
}

// qAdd(qa, qb, scale, zeroPoint, relu)
TS_FN(qAdd) {
  TS_TRY
  c10::IValue r = callOp(flag(info, 4) ? "quantized::add_relu" : "quantized::add", "", {tensorArg(info, 0), tensorArg(info, 1), num(info, 2), i64(info, 3)});
  return wrap(info.Env(), r.toTensor());
  TS_CATCH("qAdd")
}

// qCat(list, dim, scale, zeroPoint)
TS_FN(qCat) {
  TS_TRY
  c10::List<at::Tensor> l(tensorsArg(info, 0));
  c10::IValue r = callOp("quantized::cat", "", {l, i64(info, 1), c10::optional<double>(num(info, 2)), c10::optional<int64_t>(i64(info, 3))});
  return wrap(info.Env(), r.toTensor());
  TS_CATCH("qCat")
}

// qLut(qx quint8 per tensor, lut Uint8Array[256], scale, zeroPoint): y[i] = lut[x[i]] as a new quint8
// tensor with the given output parameters, in x's memory format. An elementwise activation on
// 8-bit codes is a function of 256 inputs: src/compress/quantize.ts tabulates
// quantize(act(dequantize(c))) once, so SiLU/GELU/tanh/sigmoid run in int8 in one pass instead of
// dequantize + float op + quantize (the table lookup TFLite and QNNPACK use for int8 sigmoid/tanh).
TS_FN(qLut) {
  TS_TRY
  at::Tensor& x0 = tensorArg(info, 0);
  if (!x0.is_quantized() || x0.scalar_type() != at::kQUInt8 || x0.qscheme() != at::kPerTensorAffine)
    throwNas(info.Env(), "dtype_error", "qLut: the input " + shapeStr(x0) + " is not a per-tensor quint8 tensor");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array || info[1].As<Napi::Uint8Array>().ElementLength() != 256)
    throwNas(info.Env(), "dtype_error", "qLut: the table must be a Uint8Array of 256 entries");
  Napi::Uint8Array t = info[1].As<Napi::Uint8Array>();
  uint8_t lut[256];
  std::memcpy(lut, t.Data(), 256);
  const auto fmt = x0.suggest_memory_format();
  at::Tensor x = x0.contiguous(fmt);
  at::Tensor y = at::_empty_affine_quantized(x.sizes(), x.options(), num(info, 2), i64(info, 3), fmt);
  const uint8_t* src = reinterpret_cast<const uint8_t*>(x.data_ptr<c10::quint8>());
  uint8_t* dst = reinterpret_cast<uint8_t*>(y.data_ptr<c10::quint8>());
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) dst[i] = lut[src[i]];
  return wrap(info.Env(), y);
  TS_CATCH("qLut")
}

// fakeQuantPerTensor(x, scale, zeroPoint, qmin, qmax): quantize-dequantize in float, differentiable
// with the straight-through estimator (gradient 1 where the rounded value is inside [qmin, qmax], else 0).
TS_FN(fakeQuantPerTensor) {
  TS_TRY
  return wrap(info.Env(), at::fake_quantize_per_tensor_affine(tensorArg(info, 0), num(info, 1), i64(info, 2), i64(info, 3), i64(info, 4)));
  TS_CATCH("fakeQuantPerTensor")
}
// fakeQuantPerChannel(x, scales [C] float, zeroPoints [C] int, axis, qmin, qmax): likewise, per channel along axis.
TS_FN(fakeQuantPerChannel) {
  TS_TRY
  at::Tensor s = tensorArg(info, 1).to(at::kFloat);
  at::Tensor z = tensorArg(info, 2).to(at::kInt);
  return wrap(info.Env(), at::fake_quantize_per_channel_affine(tensorArg(info, 0), s, z, i64(info, 3), i64(info, 4), i64(info, 5)));
  TS_CATCH("fakeQuantPerChannel")
}
}  // namespace tsnas

void registerQuant(Napi::Env env, Napi::Object exports) {
  using namespace tsnas;
  TS_EXPORT(exports, qEngines);
  TS_EXPORT(exports, qEngine);
  TS_EXPORT(exports, setQEngine);
  TS_EXPORT(exports, quantizePerTensor);
  TS_EXPORT(exports, quantizePerChannel);
  TS_EXPORT(exports, dequantize);
  TS_EXPORT(exports, qIntRepr);
  TS_EXPORT(exports, qParams);
  TS_EXPORT(exports, qPrepackConv);
  TS_EXPORT(exports, qPrepackLinear);
  TS_EXPORT(exports, qConv);
  TS_EXPORT(exports, qLinear);
  TS_EXPORT(exports, qLinearDynamic);
  TS_EXPORT(exports, qAdd);
  TS_EXPORT(exports, qCat);
  TS_EXPORT(exports, qLut);
  TS_EXPORT(exports, fakeQuantPerTensor);
  TS_EXPORT(exports, fakeQuantPerChannel);
}
