// Neural-network ops: convolution, pooling, normalisation, dropout, softmax, losses, recurrent cells.
#include "common.h"

namespace tsnas {

static c10::optional<at::Tensor> opt(const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; }

// conv2d(x, w, b|null, stride[2], padding[2], dilation[2], groups)
TS_FN(conv2d) {
  TS_TRY
  return wrap(info.Env(), at::conv2d(tensorArg(info, 0), tensorArg(info, 1), opt(optTensorArg(info, 2)), intsArg(info, 3),
                                     intsArg(info, 4), intsArg(info, 5), i64(info, 6)));
  TS_CATCH("conv2d")
}

// conv1d(x, w, b|null, stride, padding, dilation, groups)
TS_FN(conv1d) {
  TS_TRY
  return wrap(info.Env(), at::conv1d(tensorArg(info, 0), tensorArg(info, 1), opt(optTensorArg(info, 2)), intsArg(info, 3),
                                     intsArg(info, 4), intsArg(info, 5), i64(info, 6)));
  TS_CATCH("conv1d")
}

// convTranspose2d(x, w, b|null, stride, padding, outputPadding, groups, dilation)
TS_FN(convTranspose2d) {
  TS_TRY
  return wrap(info.Env(), at::conv_transpose2d(tensorArg(info, 0), tensorArg(info, 1), opt(optTensorArg(info, 2)),
                                               intsArg(info, 3), intsArg(info, 4), intsArg(info, 5), i64(info, 6),
                                               intsArg(info, 7)));
  TS_CATCH("convTranspose2d")
}

// maxPool2d(x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
TS_FN(maxPool2d) {
  TS_TRY
  return wrap(info.Env(), at::max_pool2d(tensorArg(info, 0), intsArg(info, 1), intsArg(info, 2), intsArg(info, 3),
                                         intsArg(info, 4), flag(info, 5)));
  TS_CATCH("maxPool2d")
}

// avgPool2d(x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad)
TS_FN(avgPool2d) {
  TS_TRY
  return wrap(info.Env(), at::avg_pool2d(tensorArg(info, 0), intsArg(info, 1), intsArg(info, 2), intsArg(info, 3),
                                         flag(info, 4), flag(info, 5)));
  TS_CATCH("avgPool2d")
}

TS_FN(adaptiveAvgPool2d) {
  TS_TRY
  return wrap(info.Env(), at::adaptive_avg_pool2d(tensorArg(info, 0), intsArg(info, 1)));
  TS_CATCH("adaptiveAvgPool2d")
}

TS_FN(adaptiveMaxPool2d) {
  TS_TRY
  return wrap(info.Env(), std::get<0>(at::adaptive_max_pool2d(tensorArg(info, 0), intsArg(info, 1))));
  TS_CATCH("adaptiveMaxPool2d")
}

// batchNorm(x, weight|null, bias|null, runningMean|null, runningVar|null, training, momentum, eps)
// In training mode the running statistics are updated in place, as in PyTorch.
TS_FN(batchNorm) {
  TS_TRY
  return wrap(info.Env(), at::batch_norm(tensorArg(info, 0), opt(optTensorArg(info, 1)), opt(optTensorArg(info, 2)),
                                         opt(optTensorArg(info, 3)), opt(optTensorArg(info, 4)), flag(info, 5),
                                         num(info, 6), num(info, 7), false));
  TS_CATCH("batchNorm")
}

// layerNorm(x, normalizedShape, weight|null, bias|null, eps)
TS_FN(layerNorm) {
  TS_TRY
  return wrap(info.Env(), at::layer_norm(tensorArg(info, 0), intsArg(info, 1), opt(optTensorArg(info, 2)),
                                         opt(optTensorArg(info, 3)), num(info, 4), false));
  TS_CATCH("layerNorm")
}

// groupNorm(x, groups, weight|null, bias|null, eps)
TS_FN(groupNorm) {
  TS_TRY
  return wrap(info.Env(), at::group_norm(tensorArg(info, 0), i64(info, 1), opt(optTensorArg(info, 2)),
                                         opt(optTensorArg(info, 3)), num(info, 4), false));
  TS_CATCH("groupNorm")
}

// dropout(gen, x, p, training): the mask is drawn from the given generator (PyTorch's CPU algorithm:
// bernoulli(1-p) noise scaled by 1/(1-p)), so a seeded Generator reproduces torch's masks.
TS_FN(dropout) {
  TS_TRY
  at::Generator& g = genArg(info, 0);
  const at::Tensor& x = tensorArg(info, 1);
  double p = num(info, 2);
  if (!flag(info, 3) || p == 0) return wrap(info.Env(), x);
  if (p >= 1) return wrap(info.Env(), x * 0);
  at::Tensor noise = at::empty_like(x, at::MemoryFormat::Contiguous);
  {
    at::NoGradGuard ng;
    noise.bernoulli_(1 - p, g);
    noise.div_(1 - p);
  }
  return wrap(info.Env(), x * noise);
  TS_CATCH("dropout")
}

TS_FN(softmax) {
  TS_TRY
  return wrap(info.Env(), at::softmax(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("softmax")
}

TS_FN(logSoftmax) {
  TS_TRY
  return wrap(info.Env(), at::log_softmax(tensorArg(info, 0), i64(info, 1)));
  TS_CATCH("logSoftmax")
}

// reduction codes: 0 none, 1 mean, 2 sum (at::Reduction)
// crossEntropy(logits, target, reduction, labelSmoothing, weight|null, ignoreIndex)
TS_FN(crossEntropy) {
  TS_TRY
  return wrap(info.Env(), at::cross_entropy_loss(tensorArg(info, 0), tensorArg(info, 1), opt(optTensorArg(info, 4)),
                                                 i64(info, 2), i64(info, 5), num(info, 3)));
  TS_CATCH("crossEntropy")
}

// nllLoss(logProbs, target, reduction, weight|null, ignoreIndex)
TS_FN(nllLoss) {
  TS_TRY
  return wrap(info.Env(), at::nll_loss_nd(tensorArg(info, 0), tensorArg(info, 1), opt(optTensorArg(info, 3)), i64(info, 2),
                                          i64(info, 4)));
  TS_CATCH("nllLoss")
}

TS_FN(mseLoss) {
  TS_TRY
  return wrap(info.Env(), at::mse_loss(tensorArg(info, 0), tensorArg(info, 1), i64(info, 2)));
  TS_CATCH("mseLoss")
}

TS_FN(l1Loss) {
  TS_TRY
  return wrap(info.Env(), at::l1_loss(tensorArg(info, 0), tensorArg(info, 1), i64(info, 2)));
  TS_CATCH("l1Loss")
}

TS_FN(smoothL1Loss) {
  TS_TRY
  return wrap(info.Env(), at::smooth_l1_loss(tensorArg(info, 0), tensorArg(info, 1), i64(info, 2), num(info, 3)));
  TS_CATCH("smoothL1Loss")
}

// bceWithLogits(logits, target, reduction, posWeight|null)
TS_FN(bceWithLogits) {
  TS_TRY
  return wrap(info.Env(), at::binary_cross_entropy_with_logits(tensorArg(info, 0), tensorArg(info, 1), c10::nullopt,
                                                               opt(optTensorArg(info, 3)), i64(info, 2)));
  TS_CATCH("bceWithLogits")
}

// lstmCell(x, h, c, wIh, wHh, bIh|null, bHh|null) -> [h', c']
TS_FN(lstmCell) {
  TS_TRY
  std::vector<at::Tensor> hx = {tensorArg(info, 1), tensorArg(info, 2)};
  auto r = at::lstm_cell(tensorArg(info, 0), hx, tensorArg(info, 3), tensorArg(info, 4), opt(optTensorArg(info, 5)),
                         opt(optTensorArg(info, 6)));
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, wrap(info.Env(), std::get<0>(r)));
  a.Set(1u, wrap(info.Env(), std::get<1>(r)));
  return a;
  TS_CATCH("lstmCell")
}

// gruCell(x, h, wIh, wHh, bIh|null, bHh|null) -> h'
TS_FN(gruCell) {
  TS_TRY
  return wrap(info.Env(), at::gru_cell(tensorArg(info, 0), tensorArg(info, 1), tensorArg(info, 2), tensorArg(info, 3),
                                       opt(optTensorArg(info, 4)), opt(optTensorArg(info, 5))));
  TS_CATCH("gruCell")
}

// embedding(weight, indices)
TS_FN(embedding) {
  TS_TRY
  return wrap(info.Env(), at::embedding(tensorArg(info, 0), tensorArg(info, 1)));
  TS_CATCH("embedding")
}

// pad(x, pads[], mode 0 constant/1 reflect/2 replicate, value)
TS_FN(pad) {
  TS_TRY
  static const char* modes[] = {"constant", "reflect", "replicate", "circular"};
  int64_t m = i64(info, 2);
  c10::optional<double> v;
  if (m == 0) v = num(info, 3);
  return wrap(info.Env(), at::pad(tensorArg(info, 0), intsArg(info, 1), modes[m < 0 || m > 3 ? 0 : m], v));
  TS_CATCH("pad")
}

}  // namespace tsnas

using namespace tsnas;

void registerNnOps(Napi::Env env, Napi::Object exports) {
  TS_EXPORT(exports, conv2d);
  TS_EXPORT(exports, conv1d);
  TS_EXPORT(exports, convTranspose2d);
  TS_EXPORT(exports, maxPool2d);
  TS_EXPORT(exports, avgPool2d);
  TS_EXPORT(exports, adaptiveAvgPool2d);
  TS_EXPORT(exports, adaptiveMaxPool2d);
  TS_EXPORT(exports, batchNorm);
  TS_EXPORT(exports, layerNorm);
  TS_EXPORT(exports, groupNorm);
  TS_EXPORT(exports, dropout);
  TS_EXPORT(exports, softmax);
  TS_EXPORT(exports, logSoftmax);
  TS_EXPORT(exports, crossEntropy);
  TS_EXPORT(exports, nllLoss);
  TS_EXPORT(exports, mseLoss);
  TS_EXPORT(exports, l1Loss);
  TS_EXPORT(exports, smoothL1Loss);
  TS_EXPORT(exports, bceWithLogits);
  TS_EXPORT(exports, lstmCell);
  TS_EXPORT(exports, gruCell);
  TS_EXPORT(exports, embedding);
  TS_EXPORT(exports, pad);
}
