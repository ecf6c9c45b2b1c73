// The optimizer state shared by optim.cc (its N-API functions) and graph.cc (the native training
// step, which applies the same update without crossing into JavaScript).
#pragma once
#include "common.h"

namespace tsnas {

struct Optim {
  int kind = 0;  // 0 sgd, 1 adam, 2 adamw
  std::vector<at::Tensor> params;
  std::vector<at::Tensor> buf1, buf2, buf3;  // sgd: momentum; adam: exp_avg, exp_avg_sq, max_exp_avg_sq
  std::vector<int64_t> steps;
  double lr = 0, momentum = 0, dampening = 0, wd = 0, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  bool nesterov = false, amsgrad = false, maximize = false;
};

// The optimizer behind a JS handle (a TypeError for anything else).
Optim* optArg(const Napi::CallbackInfo& info, size_t i);
// One update from the parameters' current gradients (no grad mode inside).
void optimStepImpl(Optim& o);

}  // namespace tsnas
