// Shared helpers of the tsnas native engine. A tensor crosses into JavaScript as a number: the id
// of a slot in a native table (slot index + 2^24 * generation). JS frees it deterministically with
// `dispose(id)`; a stale id (used after dispose) fails the generation check and raises
// NasError('disposed') instead of touching freed memory. No per-tensor N-API object or finalizer
// is created (those are slow and their finalizers only run when the event loop turns); the GC
// backstop is a FinalizationRegistry on the JS side. Storage bytes of GC-owned tensors (outside every tidy scope) are reported to V8 with
// napi_adjust_external_memory so the GC backstop sees native memory.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>

#include <atomic>
#include <string>
#include <vector>

namespace tsnas {

struct Slot {
  at::Tensor t;
  uint32_t gen = 1;
  int64_t accounted = 0;  // bytes reported with napi_adjust_external_memory
};
// Returns the live slot an id names, or nullptr for a non-id / stale / disposed id.
Slot* slotOf(double id);

extern std::atomic<int64_t> g_live;

struct GenHandle {
  at::Generator g;
};
at::Generator& genArg(const Napi::CallbackInfo& info, size_t i);  // handles whose tensor is not yet released

// Per-env state: the JS factory that turns (code, message, details) into a NasError.
struct EnvData {
  Napi::FunctionReference errorFactory;
};

// dtype codes shared with src/tensor/native.ts
enum DtypeCode : int32_t { kF32 = 0, kI64 = 1, kBool = 2, kF64 = 3, kI32 = 4, kU8 = 5 };
at::ScalarType toScalarType(int32_t code);
int32_t fromScalarType(at::ScalarType st);

Napi::Value wrap(Napi::Env env, at::Tensor t);
void releaseId(Napi::Env env, double id);

// Throws a JS TypeError for a non-handle argument, a NasError('disposed') for a disposed one.
at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t i);
// Undefined/null -> an undefined at::Tensor.
at::Tensor optTensorArg(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> intsArg(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> tensorsArg(const Napi::CallbackInfo& info, size_t i);
at::Scalar scalarOf(const Napi::Value& v);
inline double num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline int64_t i64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
inline bool flag(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// Converts a libtorch exception into a NasError naming the op and the shapes of its tensor args.
[[noreturn]] void throwTorch(const Napi::CallbackInfo& info, const char* op, const std::string& what);
[[noreturn]] void throwNas(Napi::Env env, const char* code, const std::string& message);

std::string shapeStr(const at::Tensor& t);

}  // namespace tsnas

// Every exported function body runs inside these so libtorch errors never escape as C++ exceptions.
#define TS_TRY try {
#define TS_CATCH(op)                                                                   \
  }                                                                                    \
  catch (const Napi::Error&) { throw; }                                                \
  catch (const c10::Error& e) { ::tsnas::throwTorch(info, op, e.what_without_backtrace()); } \
  catch (const std::exception& e) { ::tsnas::throwTorch(info, op, e.what()); }

#define TS_FN(name) static Napi::Value name(const Napi::CallbackInfo& info)
#define TS_EXPORT(obj, name) obj.Set(#name, Napi::Function::New(env, ::tsnas::name, #name))

void registerOps(Napi::Env env, Napi::Object exports);
void registerNnOps(Napi::Env env, Napi::Object exports);
void registerOptim(Napi::Env env, Napi::Object exports);
void registerQuant(Napi::Env env, Napi::Object exports);  // quant.cc (src/compress)
void registerGraph(Napi::Env env, Napi::Object exports);
