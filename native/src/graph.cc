// Native execution of built networks. TypeScript lowers a module tree (src/nn/native-exec.ts) to a
// small register program whose parameter and buffer tensors are the module's own at::Tensors (the
// same TensorImpls JavaScript holds, so optimizers, state dicts, ONNX export and pruning see every
// update); this file runs the program as one N-API call: a forward pass (with autograd), a whole
// training step (forward, cross-entropy, backward, optional gradient clipping, the optimizer's
// update, the accuracy count), or an inference pass (InferenceMode, conv+BN folded with cached
// folded weights). Any libtorch error inside comes back as a NasError naming the layer (its dotted
// module path and class), the op and the shapes of its inputs, like the op-by-op path's errors.
#include "optim.h"

#include <c10/core/InferenceMode.h>
#include <ATen/core/grad_mode.h>

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <cmath>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <limits>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace tsnas {

// Op codes shared with src/nn/native-exec.ts (OP); keep the orders identical.
enum GraphOp : int32_t {
  G_CONV2D = 0,      // in [x]; t [w_1..w_k, b_1..b_k (or undefined)]; i [k, sh, sw, ph, pw, dh, dw, groups]
  G_BATCHNORM = 1,   // in [x]; t k x [w, b, running_mean, running_var, num_batches_tracked]; i [k, accepted ranks...]; f [momentum, eps]
  G_LINEAR = 2,      // in [x]; t [w, b]
  G_ACT = 3,         // in [x]; i [code, inplace]; f [slope]
  G_MAXPOOL = 4,     // in [x]; i [kh, kw, sh, sw, ph, pw, dh, dw, ceil]
  G_AVGPOOL = 5,     // in [x]; i [kh, kw, sh, sw, ph, pw, ceil, countIncludePad]
  G_ADAPTIVE_AVG = 6,  // in [x]; i [oh, ow]
  G_ADAPTIVE_MAX = 7,  // in [x]; i [oh, ow]
  G_FLATTEN = 8,     // in [x]; i [start, end]
  G_DROPOUT = 9,     // in [x]; f [p]; generator
  G_ZERO = 10,       // in [x]; i [stride]: x[:, :, ::s, ::s] * 0
  G_SLICE = 11,      // in [x]; i [dim, start, end (or -1 = to the end), step]
  G_ADD = 12,        // in [a, b, ...]; i [inplace]: the sum, left to right
  G_CAT = 13,        // in [a, b, ...]; i [dim]
  G_SPLIT = 14,      // in [x]; out k registers; i [dim, size_1..size_k]
  G_LAYERNORM = 15,  // in [x]; t [w, b]; i normalized shape; f [eps]
  G_NUM_OPS = 16,
};
static const char* kOpNames[] = {"conv2d", "batchNorm", "linear", "activation", "maxPool2d", "avgPool2d", "adaptiveAvgPool2d",
                                 "adaptiveMaxPool2d", "flatten", "dropout", "mul", "slice", "add", "cat", "split", "layerNorm"};
// Activation codes (G_ACT i[0]).
enum ActCode : int32_t { A_RELU = 0, A_RELU6 = 1, A_GELU = 2, A_SILU = 3, A_TANH = 4, A_SIGMOID = 5, A_HARDSWISH = 6, A_LEAKY = 7, A_SOFTMAX = 8, A_LOGSOFTMAX = 9 };
static const char* kActNames[] = {"relu", "relu6", "gelu", "silu", "tanh", "sigmoid", "hardswish", "leakyRelu", "softmax", "logSoftmax"};

struct Instr {
  int32_t op = 0;
  std::vector<int32_t> in, out;
  std::vector<at::Tensor> t;  // parameters and buffers (undefined = absent)
  std::vector<int64_t> i;
  std::vector<double> f;
  c10::optional<at::Generator> gen;
  std::string layer, module;  // dotted module path and class name, for errors
  std::vector<int32_t> release;  // registers whose last use is this instruction
  // conv+BN folding (inference only): index of the BN instruction folded into this conv, or -1;
  // a BN folded into its conv is skipped.
  int32_t foldBn = -1;
  bool folded = false;
  // A batch norm whose output only the next instruction (a ReLU) reads: the training step's
  // BatchNorm1d kernel applies the ReLU too and the ReLU instruction is skipped.
  bool reluNext = false;
  // Cache of the folded weight/bias, valid while the source tensors' version counters are unchanged.
  at::Tensor foldW, foldB;
  std::vector<uint32_t> foldVersions;
};

struct Graph {
  std::vector<Instr> code;
  int32_t nregs = 1, output = 0;
  bool channelsLast = false;
  bool poolKernel = true;  // 2x2/2 max pooling through MaxPool2x2 (else libtorch's max_pool2d)
  bool bnKernel = true;    // training steps run BatchNorm1d on [N, C] through Bn1dTrain (else libtorch's batch_norm)
  // Threads of training steps (see StepThreads): with autoThreads, steps 2-9 run alternately on
  // one thread and on all, and the faster (by its best step) is kept; else all threads.
  bool autoThreads = true;
  int tuneStep = 0;
  double bestAll = std::numeric_limits<double>::infinity(), bestOne = std::numeric_limits<double>::infinity();
  int oneThread = -1;  // -1 tuning, 0 all threads, 1 one thread
  std::vector<at::Tensor> params;  // the trainable parameters (for zero-grad / clipping)
  bool released = false;
};

// An error inside instruction `idx`, with the shapes of its inputs.
struct LayerFailure {
  size_t idx;
  std::string what;
  std::vector<std::string> shapes;
};

static c10::optional<at::Tensor> opt(const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; }

static at::Tensor catOrOne(const Instr& I, size_t first, size_t k, size_t strideT) {
  if (k == 1) return I.t[first];
  std::vector<at::Tensor> ts;
  ts.reserve(k);
  for (size_t j = 0; j < k; j++) {
    const at::Tensor& x = I.t[first + j * strideT];
    if (!x.defined()) return at::Tensor();
    ts.push_back(x);
  }
  return at::cat(ts, 0);
}

// Folded conv weight and bias for inference: w * gamma/sqrt(var+eps), beta - mean*scale (+ b*scale).
static void foldedWeights(Instr& conv, const Instr& bn, at::Tensor& w, at::Tensor& b) {
  size_t k = static_cast<size_t>(conv.i[0]);
  std::vector<uint32_t> versions;
  for (const auto& x : conv.t) versions.push_back(x.defined() ? x._version() : 0);
  for (const auto& x : bn.t) versions.push_back(x.defined() ? x._version() : 0);
  if (!conv.foldW.defined() || versions != conv.foldVersions) {
    at::Tensor cw = catOrOne(conv, 0, k, 1);
    at::Tensor cb = catOrOne(conv, k, k, 1);
    at::Tensor g = catOrOne(bn, 0, k, 5), be = catOrOne(bn, 1, k, 5), rm = catOrOne(bn, 2, k, 5), rv = catOrOne(bn, 3, k, 5);
    double eps = bn.f[1];
    at::Tensor scale = at::rsqrt(rv + eps);
    if (g.defined()) scale = scale * g;
    at::Tensor bias = -rm * scale;
    if (be.defined()) bias = bias + be;
    if (cb.defined()) bias = bias + cb * scale;
    conv.foldW = (cw * scale.reshape({-1, 1, 1, 1})).contiguous();
    conv.foldB = bias.contiguous();
    conv.foldVersions = versions;
  }
  w = conv.foldW;
  b = conv.foldB;
}

struct RunMode {
  bool training = false;  // batch statistics and dropout
  bool fold = false;      // inference with conv+BN folding
  bool allowInplace = true;
  bool bnKernel = false;  // Bn1dTrain for BatchNorm1d (training steps only: its backward is not differentiable)
};

static at::Tensor act(int32_t code, const at::Tensor& x, bool inplace, double slope) {
  switch (code) {
    case A_RELU: return inplace ? at::relu_(const_cast<at::Tensor&>(x)) : at::relu(x);
    case A_RELU6: return inplace ? at::hardtanh_(const_cast<at::Tensor&>(x), 0, 6) : at::hardtanh(x, 0, 6);
    case A_GELU: return at::gelu(x);
    case A_SILU: return at::silu(x);
    case A_TANH: return at::tanh(x);
    case A_SIGMOID: return at::sigmoid(x);
    case A_HARDSWISH: return at::hardswish(x);
    case A_LEAKY: return inplace ? at::leaky_relu_(const_cast<at::Tensor&>(x), slope) : at::leaky_relu(x, slope);
    case A_SOFTMAX: return at::softmax(x, static_cast<int64_t>(slope));
    case A_LOGSOFTMAX: return at::log_softmax(x, static_cast<int64_t>(slope));
  }
  throw std::invalid_argument("unknown activation code " + std::to_string(code));
}


// ---------------------------------------------------------------- 2x2/2 max pooling
// libtorch 1.13's CPU max_pool2d_with_indices runs a scalar loop with a data-dependent branch per
// element (in double precision), which mispredicts on real activations: on lenet it was 40% of a
// training step (6.4 of 16.3 ms at 1 thread, TSNAS_PROFILE). For the common 2x2 window, stride 2,
// no padding or dilation, on a contiguous NCHW float tensor, this branch-free kernel computes the
// same values and routes the same gradients: the window is scanned in row-major order and an
// element replaces the running maximum when it is greater or NaN, exactly as ATen's kernel does
// (aten/src/ATen/native/cpu/MaxPoolKernel.cpp), so ties go to the first element and a NaN wins.
// The backward writes each output's gradient to its window's chosen element (windows do not
// overlap). The window position is kept as one byte per output instead of an int64 index.
static bool maxPool2x2Applies(const at::Tensor& x, const std::vector<int64_t>& i) {
  // i = [kh, kw, sh, sw, ph, pw, dh, dw, ceil]
  if (x.dim() != 4 || x.scalar_type() != at::kFloat || !x.is_contiguous() || x.is_mkldnn()) return false;
  if (i[0] != 2 || i[1] != 2 || i[2] != 2 || i[3] != 2 || i[4] != 0 || i[5] != 0 || i[6] != 1 || i[7] != 1) return false;
  int64_t H = x.size(2), W = x.size(3);
  if (H < 2 || W < 2 || x.numel() == 0) return false;
  return i[8] == 0 || (H % 2 == 0 && W % 2 == 0);  // ceil mode only adds partial windows for odd sizes
}

// One window, scalar: the running maximum m and its position k (0..3, row-major) take v at
// position q when v > m or v is NaN. Written with masks so the compiler emits no branches.
static inline void pickScalar(float v, uint32_t q, float& m, uint32_t& k) {
  uint32_t t = static_cast<uint32_t>(-static_cast<int32_t>((v > m) | (v != v)));
  uint32_t vb, mb;
  std::memcpy(&vb, &v, 4);
  std::memcpy(&mb, &m, 4);
  mb = (vb & t) | (mb & ~t);
  std::memcpy(&m, &mb, 4);
  k = (q & t) | (k & ~t);
}

// Planes [b, e) of x [.., H, W] -> y [.., H/2, W/2] and the window positions (when ip).
static void maxPool2x2Planes(const float* xp, float* yp, uint8_t* ip, int64_t b, int64_t e, int64_t H, int64_t W) {
  const int64_t Ho = H / 2, Wo = W / 2;
  for (int64_t p = b; p < e; p++) {
    const float* xi = xp + p * H * W;
    float* yo = yp + p * Ho * Wo;
    uint8_t* io = ip ? ip + p * Ho * Wo : nullptr;
    for (int64_t oh = 0; oh < Ho; oh++) {
      const float* r0 = xi + 2 * oh * W;
      const float* r1 = r0 + W;
      float* yr = yo + oh * Wo;
      uint8_t* ir = io ? io + oh * Wo : nullptr;
      int64_t ow = 0;
#ifdef __SSE2__
      // 4 windows at a time: even/odd columns of both rows, then the same selection with masks.
      const __m128i one = _mm_set1_epi32(1), two = _mm_set1_epi32(2), three = _mm_set1_epi32(3);
      for (; ow + 4 <= Wo; ow += 4) {
        __m128 a0 = _mm_loadu_ps(r0 + 2 * ow), a1 = _mm_loadu_ps(r0 + 2 * ow + 4);
        __m128 b0 = _mm_loadu_ps(r1 + 2 * ow), b1 = _mm_loadu_ps(r1 + 2 * ow + 4);
        __m128 m = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
        __m128 v1 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
        __m128 v2 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));
        __m128 v3 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
        __m128i k = _mm_setzero_si128();
        __m128 t = _mm_or_ps(_mm_cmpgt_ps(v1, m), _mm_cmpunord_ps(v1, v1));
        m = _mm_or_ps(_mm_and_ps(t, v1), _mm_andnot_ps(t, m));
        k = _mm_or_si128(_mm_and_si128(_mm_castps_si128(t), one), _mm_andnot_si128(_mm_castps_si128(t), k));
        t = _mm_or_ps(_mm_cmpgt_ps(v2, m), _mm_cmpunord_ps(v2, v2));
        m = _mm_or_ps(_mm_and_ps(t, v2), _mm_andnot_ps(t, m));
        k = _mm_or_si128(_mm_and_si128(_mm_castps_si128(t), two), _mm_andnot_si128(_mm_castps_si128(t), k));
        t = _mm_or_ps(_mm_cmpgt_ps(v3, m), _mm_cmpunord_ps(v3, v3));
        m = _mm_or_ps(_mm_and_ps(t, v3), _mm_andnot_ps(t, m));
        k = _mm_or_si128(_mm_and_si128(_mm_castps_si128(t), three), _mm_andnot_si128(_mm_castps_si128(t), k));
        _mm_storeu_ps(yr + ow, m);
        if (ir) {
          __m128i k8 = _mm_packus_epi16(_mm_packs_epi32(k, k), _mm_setzero_si128());
          int32_t four = _mm_cvtsi128_si32(k8);
          std::memcpy(ir + ow, &four, 4);
        }
      }
#endif
      for (; ow < Wo; ow++) {
        float m = r0[2 * ow];
        uint32_t k = 0;
        pickScalar(r0[2 * ow + 1], 1, m, k);
        pickScalar(r1[2 * ow], 2, m, k);
        pickScalar(r1[2 * ow + 1], 3, m, k);
        yr[ow] = m;
        if (ir) ir[ow] = static_cast<uint8_t>(k);
      }
    }
  }
}

// Planes per parallel task: about ATen's grain (32768 elements) of input per task, so that small
// tensors run on one thread.
static int64_t poolGrain(int64_t H, int64_t W) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, H * W)); }

static at::Tensor maxPool2x2Forward(const at::Tensor& x, at::Tensor* where) {
  int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), Ho = H / 2, Wo = W / 2;
  at::Tensor y = at::empty({N, C, Ho, Wo}, x.options());
  at::Tensor idx = where ? at::empty({N, C, Ho, Wo}, x.options().dtype(at::kByte)) : at::Tensor();
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  uint8_t* ip = where ? idx.data_ptr<uint8_t>() : nullptr;
  // at::parallel_for runs on the OpenMP pool only in code compiled with -fopenmp (binding.gyp);
  // without it, it runs serially.
  at::parallel_for(0, N * C, poolGrain(H, W), [&](int64_t b, int64_t e) { maxPool2x2Planes(xp, yp, ip, b, e, H, W); });
  if (where) *where = idx;
  return y;
}

struct MaxPool2x2 : public torch::autograd::Function<MaxPool2x2> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    at::Tensor idx;
    at::Tensor y = maxPool2x2Forward(x, &idx);
    ctx->save_for_backward({idx});
    ctx->saved_data["H"] = x.size(2);
    ctx->saved_data["W"] = x.size(3);
    return y;
  }
  // Writes every input element once: the output's gradient at its window's chosen element, 0 at
  // the window's other three and in the row/column a floor-mode window leaves out (odd sizes).
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list go) {
    at::Tensor idx = ctx->get_saved_variables()[0];
    int64_t H = ctx->saved_data["H"].toInt(), W = ctx->saved_data["W"].toInt();
    at::Tensor g = go[0].contiguous();
    int64_t N = g.size(0), C = g.size(1), Ho = g.size(2), Wo = g.size(3);
    at::Tensor gi = at::empty({N, C, H, W}, g.options());
    const float* gp = g.data_ptr<float>();
    const uint8_t* ip = idx.data_ptr<uint8_t>();
    float* op = gi.data_ptr<float>();
    at::parallel_for(0, N * C, poolGrain(H, W), [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; p++) {
        const float* gq = gp + p * Ho * Wo;
        const uint8_t* iq = ip + p * Ho * Wo;
        float* oq = op + p * H * W;
        for (int64_t oh = 0; oh < Ho; oh++) {
          float* o0 = oq + 2 * oh * W;
          float* o1 = o0 + W;
          for (int64_t ow = 0; ow < Wo; ow++) {
            float v = gq[oh * Wo + ow];
            uint8_t k = iq[oh * Wo + ow];
            o0[2 * ow] = k == 0 ? v : 0.0f;
            o0[2 * ow + 1] = k == 1 ? v : 0.0f;
            o1[2 * ow] = k == 2 ? v : 0.0f;
            o1[2 * ow + 1] = k == 3 ? v : 0.0f;
          }
          if (W & 1) o0[W - 1] = o1[W - 1] = 0.0f;
        }
        if (H & 1) std::memset(oq + (H - 1) * W, 0, W * sizeof(float));
      }
    });
    return {gi};
  }
};

static at::Tensor maxPool2x2(const at::Tensor& x) {
  if (at::GradMode::is_enabled() && x.requires_grad()) return MaxPool2x2::apply(x);
  return maxPool2x2Forward(x, nullptr);
}

// ---------------------------------------------------------------- BatchNorm1d in training steps
// libtorch 1.13's CPU batch norm on [N, C] input takes its channels-last path, which opens 6 OpenMP
// parallel regions in the forward (per-thread partial sums into a zeroed buffer and their
// reduction, twice, the statistics update and the transform, all with grain 1) and 3 in the
// backward. On the MLP benchmark's training step (two BatchNorm1d over [128, 256]) that was 18 of
// the step's 30 parallel regions (a perf uprobe on GOMP_parallel), each waking the pool's
// sleeping thread (libgomp's short spin, src/tensor/native.ts) for microseconds of work. Bn1dTrain
// does the same arithmetic over blocks of channels: on one thread up to ~64k elements, else in
// one parallel region per direction; a ReLU that only reads its output is applied in the same
// pass (its mask is recomputed in the backward from the saved input). Training steps only: the
// backward is not itself differentiable.
//
// Forward, per channel (as ATen's batch_norm_cpu_collect_stats_channels_last_impl,
// batch_norm_cpu_update_stats_template and the transform): mean = (float sum of x) / N in double,
// varSum = float sum of (x - mean)^2, invstd = 1 / sqrt(varSum / N + eps) in double, running_mean
// = m * mean + (1 - m) * running_mean, running_var = m * varSum / (N - 1) + (1 - m) * running_var,
// y = x * alpha + beta with alpha = invstd * w, beta = b - mean * alpha (float); ReLU: max(y, 0)
// keeping NaN. Backward (batch_norm_cpu_backward_channels_last_impl), with g = dy, 0 where the
// ReLU's output is <= 0: sumG = sum g, dot = sum g * (x - mean), dw = dot * invstd, db = sumG,
// dx = (g - (x - mean) * (dot * invstd^2 / N) - sumG / N) * (invstd * w).
struct Bn1dArgs {
  at::Tensor rm, rv;  // running statistics (both undefined when the layer does not track them)
  double momentum, eps;
  bool relu;
};

static bool bn1dApplies(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const at::Tensor& rm, const at::Tensor& rv) {
  auto vec = [&](const at::Tensor& t) { return t.defined() && t.scalar_type() == at::kFloat && t.is_contiguous() && t.dim() == 1 && t.size(0) == x.size(1) && t.device().is_cpu(); };
  if (x.dim() != 2 || x.scalar_type() != at::kFloat || !x.device().is_cpu() || !x.is_contiguous() || x.is_mkldnn() || x.size(0) < 2 || x.size(1) < 1) return false;
  if (!vec(w) || !vec(b)) return false;
  return rm.defined() ? vec(rm) && vec(rv) : !rv.defined();
}

// Channels per parallel task: about 64k elements each, so that small layers run on one thread.
static int64_t bn1dGrain(int64_t N) { return std::max<int64_t>(4, (65536 + N - 1) / N); }

// alpha = invstd * w, beta = b - mean * alpha over channels [c0, c0 + n).
static void bn1dAffine(const float* w, const float* b, const float* mean, const float* invstd, int64_t c0, int64_t n, float* alpha, float* beta) {
  for (int64_t j = 0; j < n; j++) {
    alpha[j] = invstd[c0 + j] * w[c0 + j];
    beta[j] = b[c0 + j] - mean[c0 + j] * alpha[j];
  }
}

static void bn1dForwardBlock(const float* x, float* y, int64_t N, int64_t C, int64_t c0, int64_t c1, const float* w, const float* b,
                             float* mean, float* invstd, float* rm, float* rv, double momentum, double eps, bool relu) {
  const int64_t n = c1 - c0;
  std::vector<float> buf(3 * n, 0.0f);
  float* acc = buf.data();
  float* alpha = acc + n;
  float* beta = alpha + n;
  float* mu = mean + c0;
  for (int64_t r = 0; r < N; r++) {
    const float* xr = x + r * C + c0;
    int64_t j = 0;
#ifdef __SSE2__
    for (; j + 4 <= n; j += 4) _mm_storeu_ps(acc + j, _mm_add_ps(_mm_loadu_ps(acc + j), _mm_loadu_ps(xr + j)));
#endif
    for (; j < n; j++) acc[j] += xr[j];
  }
  for (int64_t j = 0; j < n; j++) {
    mu[j] = static_cast<float>(static_cast<double>(acc[j]) / N);
    acc[j] = 0.0f;
  }
  for (int64_t r = 0; r < N; r++) {
    const float* xr = x + r * C + c0;
    int64_t j = 0;
#ifdef __SSE2__
    for (; j + 4 <= n; j += 4) {
      __m128 d = _mm_sub_ps(_mm_loadu_ps(xr + j), _mm_loadu_ps(mu + j));
      _mm_storeu_ps(acc + j, _mm_add_ps(_mm_loadu_ps(acc + j), _mm_mul_ps(d, d)));
    }
#endif
    for (; j < n; j++) {
      float d = xr[j] - mu[j];
      acc[j] += d * d;
    }
  }
  const float m = static_cast<float>(momentum);
  for (int64_t j = 0; j < n; j++) {
    const int64_t c = c0 + j;
    double var = static_cast<double>(acc[j]) / N;
    invstd[c] = var == 0 && eps == 0 ? 0.0f : static_cast<float>(1.0 / std::sqrt(var + eps));
    if (rm) rm[c] = m * mu[j] + (1 - m) * rm[c];
    if (rv) rv[c] = static_cast<float>(m * (static_cast<double>(acc[j]) / (N - 1)) + (1 - m) * rv[c]);
  }
  bn1dAffine(w, b, mean, invstd, c0, n, alpha, beta);
  for (int64_t r = 0; r < N; r++) {
    const float* xr = x + r * C + c0;
    float* yr = y + r * C + c0;
    int64_t j = 0;
#ifdef __SSE2__
    const __m128 zero = _mm_setzero_ps();
    for (; j + 4 <= n; j += 4) {
      __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(xr + j), _mm_loadu_ps(alpha + j)), _mm_loadu_ps(beta + j));
      if (relu) v = _mm_max_ps(zero, v);  // NaN (second operand) is kept
      _mm_storeu_ps(yr + j, v);
    }
#endif
    for (; j < n; j++) {
      float v = xr[j] * alpha[j] + beta[j];
      yr[j] = relu && v <= 0 ? 0.0f : v;
    }
  }
}

// dw, db (when not null) and dx (when not null) for channels [c0, c1).
static void bn1dBackwardBlock(const float* x, const float* dy, float* dx, int64_t N, int64_t C, int64_t c0, int64_t c1, const float* w,
                              const float* b, const float* mean, const float* invstd, float* dw, float* db, bool relu) {
  const int64_t n = c1 - c0;
  std::vector<float> buf(6 * n, 0.0f);
  float* sumG = buf.data();
  float* dot = sumG + n;
  float* alpha = dot + n;
  float* beta = alpha + n;
  float* k = beta + n;
  float* gm = k + n;
  const float* mu = mean + c0;
  bn1dAffine(w, b, mean, invstd, c0, n, alpha, beta);
#ifdef __SSE2__
  const __m128 zero = _mm_setzero_ps();
#endif
  // g: dy where the ReLU passed it (its output > 0 or NaN, as threshold_backward), recomputed from x.
  for (int64_t r = 0; r < N; r++) {
    const float* xr = x + r * C + c0;
    const float* gr = dy + r * C + c0;
    int64_t j = 0;
#ifdef __SSE2__
    for (; j + 4 <= n; j += 4) {
      __m128 xv = _mm_loadu_ps(xr + j), g = _mm_loadu_ps(gr + j);
      if (relu) g = _mm_andnot_ps(_mm_cmple_ps(_mm_add_ps(_mm_mul_ps(xv, _mm_loadu_ps(alpha + j)), _mm_loadu_ps(beta + j)), zero), g);
      _mm_storeu_ps(sumG + j, _mm_add_ps(_mm_loadu_ps(sumG + j), g));
      _mm_storeu_ps(dot + j, _mm_add_ps(_mm_loadu_ps(dot + j), _mm_mul_ps(g, _mm_sub_ps(xv, _mm_loadu_ps(mu + j)))));
    }
#endif
    for (; j < n; j++) {
      float g = gr[j];
      if (relu && xr[j] * alpha[j] + beta[j] <= 0) g = 0.0f;
      sumG[j] += g;
      dot[j] += g * (xr[j] - mu[j]);
    }
  }
  for (int64_t j = 0; j < n; j++) {
    const int64_t c = c0 + j;
    if (dw) dw[c] = dot[j] * invstd[c];
    if (db) db[c] = sumG[j];
    k[j] = dot[j] * invstd[c] * invstd[c] / N;
    gm[j] = sumG[j] / N;
    dot[j] = invstd[c] * w[c];  // reused: the input gradient's scale
  }
  if (!dx) return;
  for (int64_t r = 0; r < N; r++) {
    const float* xr = x + r * C + c0;
    const float* gr = dy + r * C + c0;
    float* dr = dx + r * C + c0;
    int64_t j = 0;
#ifdef __SSE2__
    for (; j + 4 <= n; j += 4) {
      __m128 xv = _mm_loadu_ps(xr + j), g = _mm_loadu_ps(gr + j);
      if (relu) g = _mm_andnot_ps(_mm_cmple_ps(_mm_add_ps(_mm_mul_ps(xv, _mm_loadu_ps(alpha + j)), _mm_loadu_ps(beta + j)), zero), g);
      __m128 v = _mm_sub_ps(_mm_sub_ps(g, _mm_mul_ps(_mm_sub_ps(xv, _mm_loadu_ps(mu + j)), _mm_loadu_ps(k + j))), _mm_loadu_ps(gm + j));
      _mm_storeu_ps(dr + j, _mm_mul_ps(v, _mm_loadu_ps(dot + j)));
    }
#endif
    for (; j < n; j++) {
      float g = gr[j];
      if (relu && xr[j] * alpha[j] + beta[j] <= 0) g = 0.0f;
      dr[j] = (g - (xr[j] - mu[j]) * k[j] - gm[j]) * dot[j];
    }
  }
}

struct Bn1dTrain : public torch::autograd::Function<Bn1dTrain> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, const Bn1dArgs* a) {
    const int64_t N = x.size(0), C = x.size(1);
    at::Tensor y = at::empty({N, C}, x.options());
    at::Tensor mean = at::empty({C}, x.options()), invstd = at::empty({C}, x.options());
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const float *wp = w.data_ptr<float>(), *bp = b.data_ptr<float>();
    float *mp = mean.data_ptr<float>(), *ip = invstd.data_ptr<float>();
    float* rm = a->rm.defined() ? a->rm.data_ptr<float>() : nullptr;
    float* rv = a->rv.defined() ? a->rv.data_ptr<float>() : nullptr;
    at::parallel_for(0, C, bn1dGrain(N), [&](int64_t c0, int64_t c1) { bn1dForwardBlock(xp, yp, N, C, c0, c1, wp, bp, mp, ip, rm, rv, a->momentum, a->eps, a->relu); });
    for (const at::Tensor* t : {&a->rm, &a->rv})
      if (t->defined()) t->unsafeGetTensorImpl()->bump_version();
    ctx->save_for_backward({x, w, b});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["invstd"] = invstd;
    ctx->saved_data["relu"] = a->relu;
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list go) {
    auto s = ctx->get_saved_variables();
    const at::Tensor &x = s[0], &w = s[1], &b = s[2];
    if (!go[0].defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    at::Tensor dy = go[0].contiguous();
    at::Tensor mean = ctx->saved_data["mean"].toTensor(), invstd = ctx->saved_data["invstd"].toTensor();
    const bool relu = ctx->saved_data["relu"].toBool();
    const int64_t N = x.size(0), C = x.size(1);
    at::Tensor dx = ctx->needs_input_grad(0) ? at::empty({N, C}, x.options()) : at::Tensor();
    at::Tensor dw = ctx->needs_input_grad(1) ? at::empty({C}, w.options()) : at::Tensor();
    at::Tensor db = ctx->needs_input_grad(2) ? at::empty({C}, b.options()) : at::Tensor();
    const float *xp = x.data_ptr<float>(), *gp = dy.data_ptr<float>(), *wp = w.data_ptr<float>(), *bp = b.data_ptr<float>();
    const float *mp = mean.data_ptr<float>(), *ip = invstd.data_ptr<float>();
    float* dxp = dx.defined() ? dx.data_ptr<float>() : nullptr;
    float* dwp = dw.defined() ? dw.data_ptr<float>() : nullptr;
    float* dbp = db.defined() ? db.data_ptr<float>() : nullptr;
    at::parallel_for(0, C, bn1dGrain(N), [&](int64_t c0, int64_t c1) { bn1dBackwardBlock(xp, gp, dxp, N, C, c0, c1, wp, bp, mp, ip, dwp, dbp, relu); });
    return {dx, dw, db, at::Tensor()};
  }
};

// Runs instruction idx; returns true when it also did the next instruction's work (a batch norm
// kernel that applied the following ReLU), which the caller then skips.
static bool execOne(Graph& g, size_t idx, std::vector<at::Tensor>& R, const RunMode& m) {
  Instr& I = g.code[idx];
  const at::Tensor& x = R[I.in[0]];
  at::Tensor y;
  switch (I.op) {
    case G_CONV2D: {
      size_t k = static_cast<size_t>(I.i[0]);
      at::IntArrayRef st(&I.i[1], 2), pd(&I.i[3], 2), dl(&I.i[5], 2);
      if (m.fold && I.foldBn >= 0) {
        at::Tensor w, b;
        foldedWeights(I, g.code[I.foldBn], w, b);
        y = at::conv2d(x, w, b, st, pd, dl, I.i[7]);
      } else {
        at::Tensor w = catOrOne(I, 0, k, 1);
        if (g.channelsLast && x.dim() == 4) w = w.contiguous(at::MemoryFormat::ChannelsLast);
        y = at::conv2d(x, w, opt(catOrOne(I, k, k, 1)), st, pd, dl, I.i[7]);
      }
      break;
    }
    case G_BATCHNORM: {
      if (m.fold && I.folded) {
        y = x;
        break;
      }
      if (I.i.size() > 1) {  // the accepted input ranks, as BatchNorm1d/2d check them
        bool ok = false;
        std::string want;
        for (size_t j = 1; j < I.i.size(); j++) {
          ok = ok || x.dim() == I.i[j];
          want += (j > 1 ? " or " : "") + std::to_string(I.i[j]);
        }
        if (!ok) {
          std::string got;
          for (int64_t d = 0; d < x.dim(); d++) got += (d ? "," : "") + std::to_string(x.size(d));
          throw std::invalid_argument(I.module + " expects " + want + "-D input, got shape [" + got + "]");
        }
      }
      if (m.training) {  // as BatchNorm1d/2d.forward (src/nn/layers.ts) and PyTorch: batch statistics need 2+ values
        int64_t perChannel = x.dim() > 0 ? x.size(0) : 1;
        for (int64_t d = 2; d < x.dim(); d++) perChannel *= x.size(d);
        if (perChannel <= 1) {
          std::string got;
          for (int64_t d = 0; d < x.dim(); d++) got += (d ? "," : "") + std::to_string(x.size(d));
          throw std::invalid_argument(I.module + " expects more than 1 value per channel when training, got input [" + got + "]");
        }
      }
      size_t k = static_cast<size_t>(I.i[0]);
      if (m.bnKernel && m.training && k == 1 && bn1dApplies(x, I.t[0], I.t[1], I.t[2], I.t[3])) {
        Bn1dArgs a{I.t[2], I.t[3], I.f[0], I.f[1], I.reluNext};
        y = Bn1dTrain::apply(x, I.t[0], I.t[1], &a);
        if (I.t[4].defined()) {
          at::NoGradGuard ng;
          I.t[4].add_(1);
        }
        // With the ReLU applied, the result is the ReLU's register (the batch norm's own output
        // register has no other reader); runGraph skips the ReLU instruction.
        R[I.reluNext ? g.code[idx + 1].out[0] : I.out[0]] = std::move(y);
        return I.reluNext;
      }
      const at::Tensor& rm0 = I.t[2];
      bool useBatch = m.training || !rm0.defined();
      at::Tensor w = catOrOne(I, 0, k, 5), b = catOrOne(I, 1, k, 5);
      at::Tensor rm, rv;
      if (k == 1) {
        rm = I.t[2];
        rv = I.t[3];
      } else if (rm0.defined()) {
        at::NoGradGuard ng;
        rm = catOrOne(I, 2, k, 5);
        rv = catOrOne(I, 3, k, 5);
      }
      y = at::batch_norm(x, opt(w), opt(b), opt(rm), opt(rv), useBatch, I.f[0], I.f[1], false);
      if (m.training) {
        at::NoGradGuard ng;
        int64_t off = 0;
        for (size_t j = 0; j < k; j++) {
          if (I.t[5 * j + 4].defined()) I.t[5 * j + 4].add_(1);
          if (k > 1 && rm.defined()) {
            int64_t c = I.t[5 * j + 2].size(0);
            I.t[5 * j + 2].copy_(rm.narrow(0, off, c));
            I.t[5 * j + 3].copy_(rv.narrow(0, off, c));
            off += c;
          }
        }
      }
      break;
    }
    case G_LINEAR: y = at::linear(x, I.t[0], opt(I.t[1])); break;
    case G_ACT: y = act(static_cast<int32_t>(I.i[0]), x, I.i[1] != 0 && m.allowInplace, I.f.empty() ? 0.0 : I.f[0]); break;
    case G_MAXPOOL:
      if (g.poolKernel && maxPool2x2Applies(x, I.i)) {
        y = maxPool2x2(x);
        break;
      }
      y = at::max_pool2d(x, at::IntArrayRef(&I.i[0], 2), at::IntArrayRef(&I.i[2], 2), at::IntArrayRef(&I.i[4], 2),
                         at::IntArrayRef(&I.i[6], 2), I.i[8] != 0);
      break;
    case G_AVGPOOL:
      y = at::avg_pool2d(x, at::IntArrayRef(&I.i[0], 2), at::IntArrayRef(&I.i[2], 2), at::IntArrayRef(&I.i[4], 2), I.i[6] != 0,
                         I.i[7] != 0);
      break;
    case G_ADAPTIVE_AVG: y = at::adaptive_avg_pool2d(x, at::IntArrayRef(&I.i[0], 2)); break;
    case G_ADAPTIVE_MAX: y = std::get<0>(at::adaptive_max_pool2d(x, at::IntArrayRef(&I.i[0], 2))); break;
    case G_FLATTEN: y = at::flatten(x, I.i[0], I.i[1]); break;
    case G_DROPOUT: {
      double p = I.f[0];
      if (!m.training || p == 0) {
        y = x;
      } else {
        // The op-by-op path's algorithm (nn_ops.cc dropout): bernoulli(1-p) / (1-p) from the layer's generator.
        at::Tensor noise = at::empty_like(x, at::MemoryFormat::Contiguous);
        {
          at::NoGradGuard ng;
          noise.bernoulli_(1 - p, *I.gen);
          noise.div_(1 - p);
        }
        y = x * noise;
      }
      break;
    }
    case G_ZERO: {
      int64_t s = I.i[0];
      y = s == 1 ? x.mul(0) : x.slice(2, 0, c10::nullopt, s).slice(3, 0, c10::nullopt, s).mul(0);
      break;
    }
    case G_SLICE:
      y = x.slice(I.i[0], I.i[1], I.i[2] < 0 ? c10::optional<int64_t>() : c10::optional<int64_t>(I.i[2]), I.i[3]);
      break;
    case G_ADD: {
      bool inplace = I.i[0] != 0 && m.allowInplace;
      if (inplace) {
        y = x;
        for (size_t j = 1; j < I.in.size(); j++) y.add_(R[I.in[j]]);
      } else {
        y = at::add(x, R[I.in[1]]);
        for (size_t j = 2; j < I.in.size(); j++) y.add_(R[I.in[j]]);
      }
      break;
    }
    case G_CAT: {
      std::vector<at::Tensor> ts;
      for (int32_t r : I.in) ts.push_back(R[r]);
      y = at::cat(ts, I.i[0]);
      break;
    }
    case G_SPLIT: {
      int64_t dim = I.i[0], off = 0;
      for (size_t j = 0; j < I.out.size(); j++) {
        int64_t n = I.i[1 + j];
        R[I.out[j]] = x.narrow(dim, off, n);
        off += n;
      }
      return false;
    }
    case G_LAYERNORM: {
      std::vector<int64_t> shape(I.i.begin(), I.i.end());
      y = at::layer_norm(x, shape, opt(I.t[0]), opt(I.t[1]), I.f[0], false);
      break;
    }
    default: throw std::invalid_argument("unknown graph op " + std::to_string(I.op));
  }
  R[I.out[0]] = std::move(y);
  return false;
}

static std::vector<std::string> inputShapes(const Graph& g, size_t idx, const std::vector<at::Tensor>& R) {
  const Instr& I = g.code[idx];
  std::vector<std::string> s;
  for (int32_t r : I.in) s.push_back(shapeStr(R[r]));
  if (I.op == G_CONV2D || I.op == G_LINEAR) {
    size_t nw = I.op == G_CONV2D ? static_cast<size_t>(I.i[0]) : 1;
    for (size_t j = 0; j < nw && j < I.t.size(); j++) s.push_back(shapeStr(I.t[j]));
  }
  return s;
}

// Runs the program on x; returns the output register. Errors become LayerFailure.
static at::Tensor runGraph(Graph& g, const at::Tensor& input, const RunMode& m) {
  std::vector<at::Tensor> R(g.nregs);
  R[0] = g.channelsLast && input.dim() == 4 ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
  for (size_t idx = 0; idx < g.code.size(); idx++) {
    bool both;
    try {
      both = execOne(g, idx, R, m);
    } catch (const c10::Error& e) {
      throw LayerFailure{idx, e.what_without_backtrace(), inputShapes(g, idx, R)};
    } catch (const std::exception& e) {
      throw LayerFailure{idx, e.what(), inputShapes(g, idx, R)};
    }
    for (int32_t r : g.code[idx].release) R[r].reset();
    if (both) {
      idx++;
      for (int32_t r : g.code[idx].release) R[r].reset();
    }
  }
  return R[g.output];
}

[[noreturn]] static void throwLayer(Napi::Env env, const Graph& g, const LayerFailure& f) {
  const Instr& I = g.code[f.idx];
  std::string opName = I.op >= 0 && I.op < G_NUM_OPS ? kOpNames[I.op] : "op";
  if (I.op == G_ACT && I.i[0] >= 0 && I.i[0] <= A_LOGSOFTMAX) opName = kActNames[I.i[0]];
  std::string first = f.what.substr(0, f.what.find('\n'));
  std::string lower = first;
  for (auto& c : lower) c = static_cast<char>(std::tolower(c));
  // The same classification as throwTorch (addon.cc), so both paths give the same code.
  bool shape = lower.find("size") != std::string::npos || lower.find("shape") != std::string::npos ||
               lower.find("dimension") != std::string::npos || lower.find("mat1") != std::string::npos ||
               lower.find("broadcast") != std::string::npos || lower.find("channels") != std::string::npos;
  std::string msg = opName + ": " + first + " (inputs: ";
  for (size_t k = 0; k < f.shapes.size(); k++) msg += (k ? ", " : "") + f.shapes[k];
  msg += ") in layer " + (I.layer.empty() ? std::string("(root)") : I.layer) + " (" + I.module + ")";
  EnvData* d = env.GetInstanceData<EnvData>();
  if (d && !d->errorFactory.IsEmpty()) {
    Napi::Object details = Napi::Object::New(env);
    details.Set("op", opName);
    details.Set("layer", I.layer);
    details.Set("module", I.module);
    Napi::Array sh = Napi::Array::New(env, f.shapes.size());
    for (size_t k = 0; k < f.shapes.size(); k++) sh.Set(static_cast<uint32_t>(k), f.shapes[k]);
    details.Set("inputs", sh);
    details.Set("libtorch", first);
    Napi::Value err = d->errorFactory.Call({Napi::String::New(env, shape ? "shape_mismatch" : "native_error"), Napi::String::New(env, msg), details});
    throw Napi::Error(env, err);
  }
  throw Napi::Error::New(env, msg);
}

static Graph* graphArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument is not a native graph handle");
  Graph* g = info[i].As<Napi::External<Graph>>().Data();
  if (g->released) throwNas(info.Env(), "disposed", "native graph used after dispose()");
  return g;
}

static std::vector<int64_t> intList(Napi::Value v) {
  std::vector<int64_t> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t k = 0; k < a.Length(); k++) out.push_back(a.Get(k).As<Napi::Number>().Int64Value());
  return out;
}

// graphNew(instrs[{op, in, out, t, i, f, gen, layer, module}], nregs, output, params[], {channelsLast, poolKernel, bnKernel, stepThreads})
TS_FN(graphNew) {
  TS_TRY
  Napi::Env env = info.Env();
  auto g = std::make_unique<Graph>();
  Napi::Array code = info[0].As<Napi::Array>();
  g->nregs = static_cast<int32_t>(i64(info, 1));
  g->output = static_cast<int32_t>(i64(info, 2));
  g->params = tensorsArg(info, 3);
  if (info.Length() > 4 && info[4].IsObject()) {
    Napi::Object go = info[4].As<Napi::Object>();
    g->channelsLast = go.Get("channelsLast").ToBoolean().Value();
    Napi::Value pk = go.Get("poolKernel");
    if (pk.IsBoolean()) g->poolKernel = pk.As<Napi::Boolean>().Value();
    Napi::Value bk = go.Get("bnKernel");
    if (bk.IsBoolean()) g->bnKernel = bk.As<Napi::Boolean>().Value();
    Napi::Value st = go.Get("stepThreads");
    if (st.IsString()) g->autoThreads = st.As<Napi::String>().Utf8Value() == "auto";
  }
  std::vector<int32_t> lastUse(g->nregs, -1), producer(g->nregs, -1), uses(g->nregs, 0);
  for (uint32_t k = 0; k < code.Length(); k++) {
    Napi::Object o = code.Get(k).As<Napi::Object>();
    Instr I;
    I.op = static_cast<int32_t>(o.Get("op").As<Napi::Number>().Int32Value());
    if (I.op < 0 || I.op >= G_NUM_OPS) throwNas(env, "internal", "graph instruction " + std::to_string(k) + ": unknown op " + std::to_string(I.op));
    for (int64_t r : intList(o.Get("in"))) I.in.push_back(static_cast<int32_t>(r));
    for (int64_t r : intList(o.Get("out"))) I.out.push_back(static_cast<int32_t>(r));
    I.i = intList(o.Get("i"));
    Napi::Value fv = o.Get("f");
    if (fv.IsArray()) {
      Napi::Array fa = fv.As<Napi::Array>();
      for (uint32_t j = 0; j < fa.Length(); j++) I.f.push_back(fa.Get(j).As<Napi::Number>().DoubleValue());
    }
    Napi::Value tv = o.Get("t");
    if (tv.IsArray()) {
      Napi::Array ta = tv.As<Napi::Array>();
      for (uint32_t j = 0; j < ta.Length(); j++) {
        Napi::Value e = ta.Get(j);
        if (e.IsUndefined() || e.IsNull()) {
          I.t.emplace_back();
          continue;
        }
        Slot* s = e.IsNumber() ? slotOf(e.As<Napi::Number>().DoubleValue()) : nullptr;
        if (!s) throwNas(env, "disposed", "graph instruction " + std::to_string(k) + ": a parameter tensor was disposed");
        I.t.push_back(s->t);
      }
    }
    Napi::Value gv = o.Get("gen");
    if (gv.IsExternal()) I.gen = gv.As<Napi::External<GenHandle>>().Data()->g;
    I.layer = o.Get("layer").ToString().Utf8Value();
    I.module = o.Get("module").ToString().Utf8Value();
    if (I.in.empty() || I.out.empty()) throwNas(env, "internal", "graph instruction " + std::to_string(k) + " has no input or output");
    if (I.op == G_DROPOUT && !I.gen) throwNas(env, "internal", "graph instruction " + std::to_string(k) + ": dropout without a generator");
    for (int32_t r : I.in) {
      if (r < 0 || r >= g->nregs || (r != 0 && producer[r] < 0)) throwNas(env, "internal", "graph instruction " + std::to_string(k) + " reads undefined register " + std::to_string(r));
      lastUse[r] = static_cast<int32_t>(k);
      uses[r]++;
    }
    for (int32_t r : I.out) {
      if (r <= 0 || r >= g->nregs) throwNas(env, "internal", "graph instruction " + std::to_string(k) + " writes bad register " + std::to_string(r));
      producer[r] = static_cast<int32_t>(k);
    }
    g->code.push_back(std::move(I));
  }
  for (int32_t r = 0; r < g->nregs; r++)
    if (lastUse[r] >= 0 && r != g->output) g->code[lastUse[r]].release.push_back(r);
  // BN -> ReLU pairs for the BatchNorm1d kernel: the ReLU is the next instruction and the only
  // reader of the batch norm's output (not the program's output).
  for (size_t k = 0; k + 1 < g->code.size(); k++) {
    Instr& bn = g->code[k];
    const Instr& next = g->code[k + 1];
    int32_t r = bn.out[0];
    bn.reluNext = bn.op == G_BATCHNORM && bn.out.size() == 1 && r != g->output && uses[r] == 1 && next.op == G_ACT &&
                  next.i.size() > 0 && next.i[0] == A_RELU && next.in.size() == 1 && next.in[0] == r && next.out.size() == 1;
  }
  // conv -> BN pairs (the BN's only input is the conv's output, used by nothing else) fold for inference.
  for (size_t k = 0; k < g->code.size(); k++) {
    Instr& bn = g->code[k];
    if (bn.op != G_BATCHNORM || !bn.t[2].defined()) continue;
    int32_t r = bn.in[0];
    int32_t p = producer[r];
    if (p < 0 || uses[r] != 1) continue;
    Instr& conv = g->code[p];
    if (conv.op != G_CONV2D || conv.i[0] != bn.i[0]) continue;
    conv.foldBn = static_cast<int32_t>(k);
    bn.folded = true;
  }
  Graph* raw = g.release();
  return Napi::External<Graph>::New(env, raw, [](Napi::Env, Graph* g) { delete g; });
  TS_CATCH("compileNative")
}

// graphFree(g): releases the graph's tensor references at once (the handle's finalizer would later).
TS_FN(graphFree) {
  if (!info[0].IsExternal()) return info.Env().Undefined();
  Graph* g = info[0].As<Napi::External<Graph>>().Data();
  g->code.clear();
  g->params.clear();
  g->released = true;
  return info.Env().Undefined();
}

// graphForward(g, x, training) -> output handle, recording autograd when grad mode is on.
TS_FN(graphForward) {
  Graph* g = graphArg(info, 0);
  TS_TRY
  RunMode m;
  m.training = flag(info, 2);
  try {
    return wrap(info.Env(), runGraph(*g, tensorArg(info, 1), m));
  } catch (const LayerFailure& f) {
    throwLayer(info.Env(), *g, f);
  }
  TS_CATCH("forward")
}

// graphInfer(g, x, fold) -> output handle: eval mode under InferenceMode (no autograd records, no
// version counters), conv+BN folded when `fold`. The output is copied out of inference mode so it
// is an ordinary tensor.
TS_FN(graphInfer) {
  Graph* g = graphArg(info, 0);
  TS_TRY
  RunMode m;
  m.fold = flag(info, 2);
  at::Tensor out;
  try {
    c10::InferenceMode im;
    out = runGraph(*g, tensorArg(info, 1), m);
  } catch (const LayerFailure& f) {
    throwLayer(info.Env(), *g, f);
  }
  return wrap(info.Env(), out.clone());
  TS_CATCH("forward")
}

// A float32 input tensor [shape] from a Float32Array (copied), or the tensor behind a handle.
static at::Tensor inputArg(const Napi::CallbackInfo& info, size_t i, size_t shapeIdx) {
  if (info[i].IsNumber()) return tensorArg(info, i);
  Napi::Float32Array a = info[i].As<Napi::Float32Array>();
  auto shape = intsArg(info, shapeIdx);
  int64_t n = 1;
  for (auto s : shape) n *= s;
  if (static_cast<int64_t>(a.ElementLength()) != n)
    throwNas(info.Env(), "shape_mismatch", "input: " + std::to_string(a.ElementLength()) + " values do not fill shape of " + std::to_string(n) + " elements");
  at::Tensor t = at::empty(shape, at::kFloat);
  if (n) std::memcpy(t.data_ptr(), a.Data(), n * sizeof(float));
  return t;
}

// Labels as int64 [n] from an Int32Array, or the tensor behind a handle.
static at::Tensor labelsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNumber()) return tensorArg(info, i);
  Napi::Int32Array a = info[i].As<Napi::Int32Array>();
  at::Tensor t = at::empty({static_cast<int64_t>(a.ElementLength())}, at::kInt);
  if (a.ElementLength()) std::memcpy(t.data_ptr(), a.Data(), a.ElementLength() * sizeof(int32_t));
  return t.to(at::kLong);
}

static double clipNorm(const std::vector<at::Tensor>& params, double maxNorm) {
  at::NoGradGuard ng;
  std::vector<at::Tensor> norms;
  std::vector<at::Tensor> grads;
  for (auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0;
  for (auto& gr : grads) norms.push_back(at::norm(gr.detach(), 2));
  at::Tensor total = at::norm(at::stack(norms), 2);
  at::Tensor coef = at::clamp(maxNorm / (total + 1e-6), c10::nullopt, 1.0);
  for (auto& gr : grads) gr.detach().mul_(coef);
  return total.item<double>();
}

// ---------------------------------------------------------------- training-step threads
// A parallel region hands work to the OpenMP pool's other threads, which sleep after a short spin
// (GOMP_SPINCOUNT, src/tensor/native.ts): each region after a pause costs a futex wake and a
// context switch on both sides, tens of microseconds on this VM. A step of small ops (the MLP
// benchmark: 128 x 256 activations, 30 regions per step, most of them after such a pause) ran
// 2-6x faster on one thread than on two (1.2-1.6 vs 2.4-8 ms per step, measured under the bench
// lock), while a step of large convolutions gains from the second thread. So a compiled network
// times its own steps: steps 2-9 alternate between one thread and all threads, and the faster
// (by its best step, robust to a busy neighbour) is kept for the steps after. One thread here is
// the calling thread's OpenMP thread count (omp_set_num_threads): ATen's parallel_for and the
// OpenMP build of OpenBLAS both read it. OpenBLAS keeps a count of 1 once it has seen one (it then
// stops reading omp_get_max_threads), so its count is set back through openblas_set_num_threads.
using BlasSetThreads = void (*)(int);
static BlasSetThreads openblasOpenmpSetThreads() {
  static BlasSetThreads f = [] {
    BlasSetThreads r = nullptr;
    for (const char* name : {"libopenblas.so.0", "libblas.so.3"}) {
      void* h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
      if (!h) continue;
      auto parallel = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_parallel"));
      auto set = reinterpret_cast<BlasSetThreads>(dlsym(h, "openblas_set_num_threads"));
      dlclose(h);  // the library stays loaded (libtorch needs it)
      if (parallel && set) {
        if (parallel() == 2) r = set;  // the OpenMP build only: the pthreads build has a pool of its own (addon.cc tuneBlas)
        break;
      }
    }
    return r;
  }();
  return f;
}

struct StepThreads {
  Graph& g;
  int all = 1, use = 1;
  bool timed = false;
  std::chrono::steady_clock::time_point t0;
  explicit StepThreads(Graph& graph) : g(graph) {
#ifdef _OPENMP
    all = omp_get_max_threads();
#endif
    use = all;
    if (all <= 1 || !g.autoThreads) return;
    if (g.oneThread >= 0) {
      use = g.oneThread ? 1 : all;
    } else {
      int s = g.tuneStep++;
      if (s >= 1) {
        use = s % 2 ? 1 : all;
        timed = true;
        t0 = std::chrono::steady_clock::now();
      }
    }
#ifdef _OPENMP
    if (use != all) omp_set_num_threads(use);
#endif
  }
  ~StepThreads() {
#ifdef _OPENMP
    if (use != all) {
      omp_set_num_threads(all);
      if (BlasSetThreads f = openblasOpenmpSetThreads()) f(all);
    }
#endif
    if (!timed) return;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double& best = use == 1 ? g.bestOne : g.bestAll;
    best = std::min(best, dt);
    if (g.tuneStep >= 9) g.oneThread = g.bestOne < g.bestAll ? 1 : 0;
  }
};

// ---------------------------------------------------------------- per-call inference threads
// callThreads(n) -> previous count: the calling thread's intra-op thread count for the calls that
// follow, set the light way the training step above does: the OpenMP count (omp_set_num_threads,
// which ATen's parallel_for, oneDNN and the OpenMP build of OpenBLAS read; OpenBLAS's own count set
// back when it grows), and with n == 1 QNNPACK's pthreadpool bypassed (caffe2's thread-local
// _NoPThreadPoolGuard flag: QNNPACK ops then run on the calling thread, as they do after
// at::set_num_threads(1)); n > 1 clears that flag. at::set_num_threads(n) instead also resizes
// QNNPACK's pthreadpool, stopping and starting its threads: about 40 us per change (measured on
// LeNet's batch-1 forward, src/tensor/thread-choice.ts), as long as a LeNet int8 forward itself.
// A ThreadChoice (src/tensor/thread-choice.ts) narrows one forward with it and restores the count.
}  // namespace tsnas
namespace caffe2 {
// Exported by libtorch_cpu (caffe2/utils/threadpool/pthreadpool-cpp.h, not installed by Debian).
class _NoPThreadPoolGuard {
 public:
  static bool is_enabled();
  static void set_enabled(bool);
};
}  // namespace caffe2
namespace tsnas {
TS_FN(callThreads) {
  TS_TRY
  int n = static_cast<int>(i64(info, 0));
  if (n < 1) throwNas(info.Env(), "invalid_config", "callThreads: thread count must be >= 1");
  int prev = 1;
#ifdef _OPENMP
  prev = omp_get_max_threads();
  if (n != prev) {
    omp_set_num_threads(n);
    if (n > prev)
      if (BlasSetThreads f = openblasOpenmpSetThreads()) f(n);
  }
#endif
  caffe2::_NoPThreadPoolGuard::set_enabled(n == 1);
  return Napi::Number::New(info.Env(), prev);
  TS_CATCH("callThreads")
}

// graphTrainStep(g, x (Float32Array or handle), shape, y (Int32Array or handle), optim, {labelSmoothing, clip})
//   -> [loss, correct, threads]. One training step as the trainer's op-by-op loop does it: drop gradients,
// forward in training mode, cross-entropy (mean, optional label smoothing), and, when the loss is
// finite, backward, optional clipping of the total gradient norm, the optimizer update; `correct`
// counts argmax hits (0 when the loss is not finite, and nothing is updated).
TS_FN(graphTrainStep) {
  Graph* g = graphArg(info, 0);
  TS_TRY
  Napi::Env env = info.Env();
  at::Tensor x = inputArg(info, 1, 2);
  at::Tensor y = labelsArg(info, 3);
  Optim* o = info[4].IsExternal() ? optArg(info, 4) : nullptr;
  double smoothing = 0, clip = -1;
  if (info.Length() > 5 && info[5].IsObject()) {
    Napi::Object opts = info[5].As<Napi::Object>();
    Napi::Value s = opts.Get("labelSmoothing"), c = opts.Get("clip");
    if (s.IsNumber()) smoothing = s.As<Napi::Number>().DoubleValue();
    if (c.IsNumber()) clip = c.As<Napi::Number>().DoubleValue();
  }
  at::AutoGradMode gm(true);
  StepThreads threads(*g);
  // TSNAS_PROFILE=file.json: a Chrome trace (libtorch's profiler) of the process's training steps
  // 6-15, written when step 16 starts (a process that ends earlier writes nothing); for finding where
  // a step's time goes. The recorder is never destroyed at exit (libtorch's profiler state may be gone).
  static int stepNo = 0;
  static torch::autograd::profiler::RecordProfile* prof = nullptr;
  stepNo++;
  if (stepNo == 6 && std::getenv("TSNAS_PROFILE")) prof = new torch::autograd::profiler::RecordProfile(std::string(std::getenv("TSNAS_PROFILE")));
  if (stepNo == 16 && prof) {
    delete prof;
    prof = nullptr;
  }
  for (auto& p : g->params) p.mutable_grad().reset();
  RunMode m;
  m.training = true;
  m.bnKernel = g->bnKernel;
  at::Tensor out;
  try {
    out = runGraph(*g, x, m);
  } catch (const LayerFailure& f) {
    throwLayer(env, *g, f);
  }
  at::Tensor loss;
  try {
    loss = at::cross_entropy_loss(out, y, c10::nullopt, at::Reduction::Mean, -100, smoothing);
  } catch (const c10::Error& e) {
    std::string first = std::string(e.what_without_backtrace());
    first = first.substr(0, first.find('\n'));
    throwNas(env, "shape_mismatch", "crossEntropy: " + first + " (inputs: " + shapeStr(out) + ", " + shapeStr(y) + ")");
  }
  double v = loss.item<double>();
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, Napi::Number::New(env, v));
  r.Set(2u, Napi::Number::New(env, threads.use));
  if (!std::isfinite(v)) {
    r.Set(1u, Napi::Number::New(env, 0));
    return r;
  }
  loss.backward();
  if (clip >= 0) clipNorm(g->params, clip);
  if (o) optimStepImpl(*o);
  double correct;
  {
    at::NoGradGuard ng;
    correct = out.detach().argmax(1).eq(y).sum().item<double>();
  }
  r.Set(1u, Napi::Number::New(env, correct));
  return r;
  TS_CATCH("trainStep")
}

// graphEvalBatch(g, x (Float32Array or handle), shape, y (Int32Array), fold) -> [lossSum?, predictions Int32Array]
// Eval mode under InferenceMode: the cross-entropy (mean over the batch) and the argmax per sample.
TS_FN(graphEvalBatch) {
  Graph* g = graphArg(info, 0);
  TS_TRY
  Napi::Env env = info.Env();
  at::Tensor x = inputArg(info, 1, 2);
  at::Tensor y = labelsArg(info, 3);
  RunMode m;
  m.fold = flag(info, 4);
  double loss;
  at::Tensor pred;
  {
    c10::InferenceMode im;
    at::Tensor out;
    try {
      out = runGraph(*g, x, m);
    } catch (const LayerFailure& f) {
      throwLayer(env, *g, f);
    }
    loss = at::cross_entropy_loss(out, y, c10::nullopt, at::Reduction::Mean, -100, 0.0).item<double>();
    pred = out.argmax(1).to(at::kInt).contiguous();
  }
  Napi::Int32Array p = Napi::Int32Array::New(env, pred.numel());
  if (pred.numel()) std::memcpy(p.Data(), pred.data_ptr(), pred.numel() * sizeof(int32_t));
  Napi::Array r = Napi::Array::New(env, 2);
  r.Set(0u, Napi::Number::New(env, loss));
  r.Set(1u, p);
  return r;
  TS_CATCH("evaluate")
}

}  // namespace tsnas

using namespace tsnas;

void registerGraph(Napi::Env env, Napi::Object exports) {
  TS_EXPORT(exports, graphNew);
  TS_EXPORT(exports, graphFree);
  TS_EXPORT(exports, graphForward);
  TS_EXPORT(exports, graphInfer);
  TS_EXPORT(exports, graphTrainStep);
  TS_EXPORT(exports, callThreads);
  TS_EXPORT(exports, graphEvalBatch);
}
