// Tensor ops: elementwise (broadcasting), comparisons, reductions, shape ops, linear algebra.
// Op codes are shared with src/tensor/native.ts; keep the orders identical.
#include "common.h"

namespace tsnas {

static const char* kUnaryNames[] = {"neg", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
                                    "relu", "gelu", "silu", "square", "sign", "floor", "ceil", "round", "reciprocal",
                                    "log1p", "expm1", "erf", "logicalNot", "softplus", "isnan", "isfinite", "relu6",
                                    "hardswish", "hardsigmoid", "mish", "elu", "selu", "logSigmoid", "tan", "asin",
                                    "acos", "atan", "sinh", "cosh", "log2", "log10", "exp2", "trunc", "frac"};
static constexpr int kNumUnary = sizeof(kUnaryNames) / sizeof(kUnaryNames[0]);

static at::Tensor unaryOp(int code, const at::Tensor& a) {
  switch (code) {
    case 0: return at::neg(a);
    case 1: return at::abs(a);
    case 2: return at::exp(a);
    case 3: return at::log(a);
    case 4: return at::sqrt(a);
    case 5: return at::rsqrt(a);
    case 6: return at::sin(a);
    case 7: return at::cos(a);
    case 8: return at::tanh(a);
    case 9: return at::sigmoid(a);
    case 10: return at::relu(a);
    case 11: return at::gelu(a);
    case 12: return at::silu(a);
    case 13: return at::square(a);
    case 14: return at::sign(a);
    case 15: return at::floor(a);
    case 16: return at::ceil(a);
    case 17: return at::round(a);
    case 18: return at::reciprocal(a);
    case 19: return at::log1p(a);
    case 20: return at::expm1(a);
    case 21: return at::erf(a);
    case 22: return at::logical_not(a);
    case 23: return at::softplus(a);
    case 24: return at::isnan(a);
    case 25: return at::isfinite(a);
    case 26: return at::hardtanh(a, 0, 6);
    case 27: return at::hardswish(a);
    case 28: return at::hardsigmoid(a);
    case 29: return at::mish(a);
    case 30: return at::elu(a);
    case 31: return at::selu(a);
    case 32: return at::log_sigmoid(a);
    case 33: return at::tan(a);
    case 34: return at::asin(a);
    case 35: return at::acos(a);
    case 36: return at::atan(a);
    case 37: return at::sinh(a);
    case 38: return at::cosh(a);
    case 39: return at::log2(a);
    case 40: return at::log10(a);
    case 41: return at::exp2(a);
    case 42: return at::trunc(a);
    case 43: return at::frac(a);
  }
  throw std::invalid_argument("unknown unary op code " + std::to_string(code));
}

// unary(code, t)
TS_FN(unary) {
  int code = static_cast<int>(i64(info, 0));
  const char* name = code >= 0 && code < kNumUnary ? kUnaryNames[code] : "unary";
  TS_TRY
  return wrap(info.Env(), unaryOp(code, tensorArg(info, 1)));
  TS_CATCH(name)
}

static const char* kBinaryNames[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
                                     "gt", "ge", "logicalAnd", "logicalOr", "remainder", "floorDivide", "atan2",
                                     "logicalXor"};
static constexpr int kNumBinary = sizeof(kBinaryNames) / sizeof(kBinaryNames[0]);

static at::Tensor wrappedScalar(const at::Scalar& s) {
  at::Tensor t = c10::scalar_to_tensor(s);
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

static at::Tensor binaryTT(int code, const at::Tensor& a, const at::Tensor& b) {
  switch (code) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
    case 7: return at::eq(a, b);
    case 8: return at::ne(a, b);
    case 9: return at::lt(a, b);
    case 10: return at::le(a, b);
    case 11: return at::gt(a, b);
    case 12: return at::ge(a, b);
    case 13: return at::logical_and(a, b);
    case 14: return at::logical_or(a, b);
    case 15: return at::remainder(a, b);
    case 16: return at::div(a, b, "floor");
    case 17: return at::atan2(a, b);
    case 18: return at::logical_xor(a, b);
  }
  throw std::invalid_argument("unknown binary op code " + std::to_string(code));
}

static at::Tensor binaryTS(int code, const at::Tensor& a, const at::Scalar& b) {
  switch (code) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 7: return at::eq(a, b);
    case 8: return at::ne(a, b);
    case 9: return at::lt(a, b);
    case 10: return at::le(a, b);
    case 11: return at::gt(a, b);
    case 12: return at::ge(a, b);
    case 15: return at::remainder(a, b);
    default: return binaryTT(code, a, wrappedScalar(b));
  }
}

// binary(code, a, b): tensor OP tensor, broadcasting.
TS_FN(binary) {
  int code = static_cast<int>(i64(info, 0));
  const char* name = code >= 0 && code < kNumBinary ? kBinaryNames[code] : "binary";
  TS_TRY
  return wrap(info.Env(), binaryTT(code, tensorArg(info, 1), tensorArg(info, 2)));
  TS_CATCH(name)
}

// binaryScalar(code, a, number|boolean): tensor OP a Python-style wrapped scalar.
TS_FN(binaryScalar) {
  int code = static_cast<int>(i64(info, 0));
  const char* name = code >= 0 && code < kNumBinary ? kBinaryNames[code] : "binary";
  TS_TRY
  return wrap(info.Env(), binaryTS(code, tensorArg(info, 1), scalarOf(info[2])));
  TS_CATCH(name)
}

// rbinary(code, number, t): number OP t (rsub, rdiv, rpow).
TS_FN(rbinary) {
  int code = static_cast<int>(i64(info, 0));
  const char* name = code >= 0 && code < kNumBinary ? kBinaryNames[code] : "binary";
  TS_TRY
  at::Scalar s = scalarOf(info[1]);
  const at::Tensor& b = tensorArg(info, 2);
  if (code == 4) return wrap(info.Env(), at::pow(s, b));
  return wrap(info.Env(), binaryTT(code, wrappedScalar(s), b));
  TS_CATCH(name)
}

// binaryInplace(code, a, b, bIsTensor): a OP= b for add/sub/mul/div (codes 0-3); returns nothing.
TS_FN(binaryInplace) {
  int code = static_cast<int>(i64(info, 0));
  const char* name = code >= 0 && code < kNumBinary ? kBinaryNames[code] : "binary";
  TS_TRY
  at::Tensor& a = tensorArg(info, 1);
  bool isT = flag(info, 3);
  at::Tensor b = isT ? tensorArg(info, 2) : at::Tensor();
  at::Scalar s = isT ? at::Scalar(0) : scalarOf(info[2]);
  switch (code) {
    case 0: isT ? a.add_(b) : a.add_(s); break;
    case 1: isT ? a.sub_(b) : a.sub_(s); break;
    case 2: isT ? a.mul_(b) : a.mul_(s); break;
    case 3: isT ? a.div_(b) : a.div_(s); break;
    default: throw std::invalid_argument("in-place op supports add, sub, mul, div");
  }
  return info.Env().Undefined();
  TS_CATCH(name)
}

// addScaled(a, b, alpha) = a + alpha * b
TS_FN(addScaled) {
  TS_TRY
  return wrap(info.Env(), at::add(tensorArg(info, 0), tensorArg(info, 1), scalarOf(info[2])));
  TS_CATCH("add")
}

TS_FN(copy_) {
  TS_TRY
  at::NoGradGuard ng;
  tensorArg(info, 0).copy_(tensorArg(info, 1));
  return info.Env().Undefined();
  TS_CATCH("copy_")
}

TS_FN(fill_) {
  TS_TRY
  at::NoGradGuard ng;
  tensorArg(info, 0).fill_(scalarOf(info[1]));
  return info.Env().Undefined();
  TS_CATCH("fill_")
}

// where(cond, a, b, aIsTensor, bIsTensor): a and b are tensor ids or numbers
TS_FN(where) {
  TS_TRY
  const at::Tensor& c = tensorArg(info, 0);
  bool ta = flag(info, 3), tb = flag(info, 4);
  if (ta && tb) return wrap(info.Env(), at::where(c, tensorArg(info, 1), tensorArg(info, 2)));
  if (ta) return wrap(info.Env(), at::where(c, tensorArg(info, 1), scalarOf(info[2])));
  if (tb) return wrap(info.Env(), at::where(c, scalarOf(info[1]), tensorArg(info, 2)));
  return wrap(info.Env(), at::where(c, scalarOf(info[1]), scalarOf(info[2])));
  TS_CATCH("where")
}

// clamp(t, min|null, max|null)
TS_FN(clamp) {
  TS_TRY
  c10::optional<at::Scalar> lo, hi;
  if (!info[1].IsNull() && !info[1].IsUndefined()) lo = scalarOf(info[1]);
  if (!info[2].IsNull() && !info[2].IsUndefined()) hi = scalarOf(info[2]);
  return wrap(info.Env(), at::clamp(tensorArg(info, 0), lo, hi));
  TS_CATCH("clamp")
}

TS_FN(maskedFill) {
  TS_TRY
  return wrap(info.Env(), at::masked_fill(tensorArg(info, 0), tensorArg(info, 1), scalarOf(info[2])));
  TS_CATCH("maskedFill")
}

TS_FN(leakyRelu) {
  TS_TRY
  return wrap(info.Env(), at::leaky_relu(tensorArg(info, 0), scalarOf(info[1])));
  TS_CATCH("leakyRelu")
}

// ---------------------------------------------------------------- reductions

static bool hasDims(const Napi::CallbackInfo& info, size_t i) { return !(info[i].IsNull() || info[i].IsUndefined()); }

static const char* kReduceNames[] = {"sum", "mean", "prod", "amax", "amin", "logsumexp", "all", "any", "norm"};

// reduce(code, t, dims|null, keepdim)
TS_FN(reduce) {
  int code = static_cast<int>(i64(info, 0));
  const char* name = code >= 0 && code < 9 ? kReduceNames[code] : "reduce";
  TS_TRY
  const at::Tensor& t = tensorArg(info, 1);
  bool all = !hasDims(info, 2);
  std::vector<int64_t> dims;
  if (!all) dims = intsArg(info, 2);
  bool keep = flag(info, 3);
  at::Tensor r;
  switch (code) {
    case 0: r = all ? at::sum(t) : at::sum(t, dims, keep); break;
    case 1: r = all ? at::mean(t) : at::mean(t, dims, keep); break;
    case 2:
      if (all) r = at::prod(t);
      else {
        r = t;
        std::vector<int64_t> ds = dims;
        for (auto& d : ds) d = c10::maybe_wrap_dim(d, t.dim());
        std::sort(ds.rbegin(), ds.rend());
        for (auto d : ds) r = at::prod(r, d, keep);
      }
      break;
    case 3: r = all ? at::max(t) : at::amax(t, dims, keep); break;
    case 4: r = all ? at::min(t) : at::amin(t, dims, keep); break;
    case 5: {
      std::vector<int64_t> d = dims;
      if (all) { for (int64_t k = 0; k < t.dim(); k++) d.push_back(k); }
      r = at::logsumexp(t, d, keep);
      break;
    }
    case 6: r = all ? at::all(t) : t.to(at::kBool).all(dims.at(0), keep); break;
    case 7: r = all ? at::any(t) : t.to(at::kBool).any(dims.at(0), keep); break;
    case 8: r = all ? at::norm(t) : at::norm(t, 2, dims, keep); break;
    default: throw std::invalid_argument("unknown reduce code");
  }
  return wrap(info.Env(), std::move(r));
  TS_CATCH(name)
}

// maxDim/minDim(t, dim, keepdim) -> [values, indices]
TS_FN(maxDim) {
  TS_TRY
  auto r = at::max(tensorArg(info, 0), i64(info, 1), flag(info, 2));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, wrap(info.Env(), std::get<0>(r)));
  a.Set(1u, wrap(info.Env(), std::get<1>(r)));
  return a;
  TS_CATCH("max")
}

TS_FN(minDim) {
  TS_TRY
  auto r = at::min(tensorArg(info, 0), i64(info, 1), flag(info, 2));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, wrap(info.Env(), std::get<0>(r)));
  a.Set(1u, wrap(info.Env(), std::get<1>(r)));
  return a;
  TS_CATCH("min")
}

// argmax/argmin(t, dim|null, keepdim)
TS_FN(argmax) {
  TS_TRY
  c10::optional<int64_t> d;
  if (hasDims(info, 1)) d = i64(info, 1);
  return wrap(info.Env(), at::argmax(tensorArg(info, 0), d, flag(info, 2)));
  TS_CATCH("argmax")
}

TS_FN(argmin) {
  TS_TRY
  c10::optional<int64_t> d;
  if (hasDims(info, 1)) d = i64(info, 1);
  return wrap(info.Env(), at::argmin(tensorArg(info, 0), d, flag(info, 2)));
  TS_CATCH("argmin")
}

// varStd(isStd, t, dims|null, unbiased, keepdim)
TS_FN(varStd) {
  bool isStd = flag(info, 0);
  TS_TRY
  const at::Tensor& t = tensorArg(info, 1);
  at::OptionalIntArrayRef dims;
  std::vector<int64_t> d;
  if (hasDims(info, 2)) { d = intsArg(info, 2); dims = d; }
  bool unbiased = flag(info, 3), keep = flag(info, 4);
  return wrap(info.Env(), isStd ? at::std(t, dims, unbiased, keep) : at::var(t, dims, unbiased, keep));
  TS_CATCH(isStd ? "std" : "var")
}

TS_FN(cumsum) {
  TS_TRY
  return wrap(info.Env(), at::cumsum(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("cumsum")
}

// sort(t, dim, descending) / topk(t, k, dim, largest) -> [values, indices]
TS_FN(sort) {
  TS_TRY
  auto r = at::sort(tensorArg(info, 0), i64(info, 1), flag(info, 2));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, wrap(info.Env(), std::get<0>(r)));
  a.Set(1u, wrap(info.Env(), std::get<1>(r)));
  return a;
  TS_CATCH("sort")
}

TS_FN(topk) {
  TS_TRY
  auto r = at::topk(tensorArg(info, 0), i64(info, 1), i64(info, 2), flag(info, 3), true);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, wrap(info.Env(), std::get<0>(r)));
  a.Set(1u, wrap(info.Env(), std::get<1>(r)));
  return a;
  TS_CATCH("topk")
}

// ---------------------------------------------------------------- shape ops

TS_FN(reshape) {
  TS_TRY
  return wrap(info.Env(), at::reshape(tensorArg(info, 0), intsArg(info, 1)));
  TS_CATCH("reshape")
}

TS_FN(view) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).view(intsArg(info, 1)));
  TS_CATCH("view")
}

TS_FN(permute) {
  TS_TRY
  return wrap(info.Env(), at::permute(tensorArg(info, 0), intsArg(info, 1)));
  TS_CATCH("permute")
}

TS_FN(transpose) {
  TS_TRY
  return wrap(info.Env(), at::transpose(tensorArg(info, 0), i64(info, 1), i64(info, 2)));
  TS_CATCH("transpose")
}

TS_FN(cat) {
  TS_TRY
  return wrap(info.Env(), at::cat(tensorsArg(info, 0), i64(info, 1)));
  TS_CATCH("cat")
}

TS_FN(stack) {
  TS_TRY
  return wrap(info.Env(), at::stack(tensorsArg(info, 0), i64(info, 1)));
  TS_CATCH("stack")
}

// slice(t, dim, start, end, step): end may be null for "to the end"
TS_FN(slice) {
  TS_TRY
  c10::optional<int64_t> end;
  if (hasDims(info, 3)) end = i64(info, 3);
  return wrap(info.Env(), at::slice(tensorArg(info, 0), i64(info, 1), i64(info, 2), end, i64(info, 4)));
  TS_CATCH("slice")
}

TS_FN(select) {
  TS_TRY
  return wrap(info.Env(), at::select(tensorArg(info, 0), i64(info, 1), i64(info, 2)));
  TS_CATCH("select")
}

TS_FN(indexSelect) {
  TS_TRY
  return wrap(info.Env(), at::index_select(tensorArg(info, 0), i64(info, 1), tensorArg(info, 2)));
  TS_CATCH("indexSelect")
}

TS_FN(gather) {
  TS_TRY
  return wrap(info.Env(), at::gather(tensorArg(info, 0), i64(info, 1), tensorArg(info, 2)));
  TS_CATCH("gather")
}

// scatter(t, dim, index, src) / scatterAdd
TS_FN(scatter) {
  TS_TRY
  return wrap(info.Env(), at::scatter(tensorArg(info, 0), i64(info, 1), tensorArg(info, 2), tensorArg(info, 3)));
  TS_CATCH("scatter")
}

TS_FN(scatterAdd) {
  TS_TRY
  return wrap(info.Env(), at::scatter_add(tensorArg(info, 0), i64(info, 1), tensorArg(info, 2), tensorArg(info, 3)));
  TS_CATCH("scatterAdd")
}

// maskedSelect(t, mask) -> 1-D
TS_FN(maskedSelect) {
  TS_TRY
  return wrap(info.Env(), at::masked_select(tensorArg(info, 0), tensorArg(info, 1)));
  TS_CATCH("maskedSelect")
}

TS_FN(flatten) {
  TS_TRY
  return wrap(info.Env(), at::flatten(tensorArg(info, 0), i64(info, 1), i64(info, 2)));
  TS_CATCH("flatten")
}

TS_FN(squeeze) {
  TS_TRY
  if (hasDims(info, 1)) return wrap(info.Env(), at::squeeze(tensorArg(info, 0), i64(info, 1)));
  return wrap(info.Env(), at::squeeze(tensorArg(info, 0)));
  TS_CATCH("squeeze")
}

TS_FN(unsqueeze) {
  TS_TRY
  return wrap(info.Env(), at::unsqueeze(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("unsqueeze")
}

TS_FN(expand) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).expand(intsArg(info, 1)));
  TS_CATCH("expand")
}

TS_FN(repeat) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).repeat(intsArg(info, 1)));
  TS_CATCH("repeat")
}

TS_FN(flip) {
  TS_TRY
  return wrap(info.Env(), at::flip(tensorArg(info, 0), intsArg(info, 1)));
  TS_CATCH("flip")
}

TS_FN(contiguous) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).contiguous());
  TS_CATCH("contiguous")
}

TS_FN(clone) {
  TS_TRY
  return wrap(info.Env(), at::clone(tensorArg(info, 0)));
  TS_CATCH("clone")
}

TS_FN(toDtype) {
  TS_TRY
  return wrap(info.Env(), tensorArg(info, 0).to(toScalarType(static_cast<int32_t>(i64(info, 1)))));
  TS_CATCH("to")
}

// split(t, sizeOrSizes, dim) -> handles
TS_FN(split) {
  TS_TRY
  const at::Tensor& t = tensorArg(info, 0);
  std::vector<at::Tensor> parts;
  if (info[1].IsNumber()) parts = at::split(t, i64(info, 1), i64(info, 2));
  else parts = at::split_with_sizes(t, intsArg(info, 1), i64(info, 2));
  Napi::Array a = Napi::Array::New(info.Env(), parts.size());
  for (size_t k = 0; k < parts.size(); k++) a.Set(static_cast<uint32_t>(k), wrap(info.Env(), parts[k]));
  return a;
  TS_CATCH("split")
}

TS_FN(oneHot) {
  TS_TRY
  return wrap(info.Env(), at::one_hot(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("oneHot")
}

TS_FN(tril) {
  TS_TRY
  return wrap(info.Env(), at::tril(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("tril")
}

TS_FN(triu) {
  TS_TRY
  return wrap(info.Env(), at::triu(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("triu")
}

// ---------------------------------------------------------------- linear algebra

TS_FN(matmul) {
  TS_TRY
  return wrap(info.Env(), at::matmul(tensorArg(info, 0), tensorArg(info, 1)));
  TS_CATCH("matmul")
}

TS_FN(mm) {
  TS_TRY
  return wrap(info.Env(), at::mm(tensorArg(info, 0), tensorArg(info, 1)));
  TS_CATCH("mm")
}

TS_FN(bmm) {
  TS_TRY
  return wrap(info.Env(), at::bmm(tensorArg(info, 0), tensorArg(info, 1)));
  TS_CATCH("bmm")
}

// linear(x, w, b|null) = x w^T + b
TS_FN(linear) {
  TS_TRY
  at::Tensor b = optTensorArg(info, 2);
  return wrap(info.Env(), at::linear(tensorArg(info, 0), tensorArg(info, 1), b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt));
  TS_CATCH("linear")
}

TS_FN(outer) {
  TS_TRY
  return wrap(info.Env(), at::outer(tensorArg(info, 0), tensorArg(info, 1)));
  TS_CATCH("outer")
}

}  // namespace tsnas

using namespace tsnas;

void registerOps(Napi::Env env, Napi::Object exports) {
  TS_EXPORT(exports, unary);
  TS_EXPORT(exports, binary);
  TS_EXPORT(exports, binaryScalar);
  TS_EXPORT(exports, rbinary);
  TS_EXPORT(exports, binaryInplace);
  TS_EXPORT(exports, addScaled);
  TS_EXPORT(exports, copy_);
  TS_EXPORT(exports, fill_);
  TS_EXPORT(exports, where);
  TS_EXPORT(exports, clamp);
  TS_EXPORT(exports, maskedFill);
  TS_EXPORT(exports, leakyRelu);
  TS_EXPORT(exports, reduce);
  TS_EXPORT(exports, maxDim);
  TS_EXPORT(exports, minDim);
  TS_EXPORT(exports, argmax);
  TS_EXPORT(exports, argmin);
  TS_EXPORT(exports, varStd);
  TS_EXPORT(exports, cumsum);
  TS_EXPORT(exports, sort);
  TS_EXPORT(exports, topk);
  TS_EXPORT(exports, reshape);
  TS_EXPORT(exports, view);
  TS_EXPORT(exports, permute);
  TS_EXPORT(exports, transpose);
  TS_EXPORT(exports, cat);
  TS_EXPORT(exports, stack);
  TS_EXPORT(exports, slice);
  TS_EXPORT(exports, select);
  TS_EXPORT(exports, indexSelect);
  TS_EXPORT(exports, gather);
  TS_EXPORT(exports, scatter);
  TS_EXPORT(exports, scatterAdd);
  TS_EXPORT(exports, maskedSelect);
  TS_EXPORT(exports, flatten);
  TS_EXPORT(exports, squeeze);
  TS_EXPORT(exports, unsqueeze);
  TS_EXPORT(exports, expand);
  TS_EXPORT(exports, repeat);
  TS_EXPORT(exports, flip);
  TS_EXPORT(exports, contiguous);
  TS_EXPORT(exports, clone);
  TS_EXPORT(exports, toDtype);
  TS_EXPORT(exports, split);
  TS_EXPORT(exports, oneHot);
  TS_EXPORT(exports, tril);
  TS_EXPORT(exports, triu);
  TS_EXPORT(exports, matmul);
  TS_EXPORT(exports, mm);
  TS_EXPORT(exports, bmm);
  TS_EXPORT(exports, linear);
  TS_EXPORT(exports, outer);
}
