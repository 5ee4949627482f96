// Optimizers with PyTorch's update rules (torch.optim.SGD, torch.optim.AdamW), the learning-rate
// schedule, and gradient clipping by global norm (torch.nn.utils.clip_grad_norm_).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/json.h"
#include "io/safetensors.h"
#include "train/gradients.h"

namespace anatomy::train {

struct OptimizerConfig {
  std::string kind = "adamw";  // sgd | adamw
  double momentum = 0;         // sgd
  bool nesterov = false;       // sgd
  double weight_decay = 0;     // on Trainable::decay parameters only (matrices, embeddings)
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adamw
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter from its accumulated gradient at learning rate lr.
  virtual void step(std::vector<Trainable>& params, double lr) = 0;
  // The per-parameter state (moments) under "<parameter>.<moment>" names, and the step count.
  virtual io::NamedTensors state() const = 0;
  virtual void load_state(const io::NamedTensors& state, const std::string& file) = 0;
};

// Checks the configuration (errors name the option) and makes the optimizer for `params`.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c, const std::vector<Trainable>& params);

struct Schedule {
  std::string kind = "constant";  // constant | cosine
  double lr = 3e-4;
  double min_lr = 0;  // cosine's floor
  int64_t warmup = 0;  // linear warm-up steps (both kinds)
  int64_t steps = 0;   // cosine decays over [warmup, steps)
};
// The learning rate of (0-based) optimizer step `step`.
double learning_rate(const Schedule& s, int64_t step);

// The gradients' global L2 norm; when clip > 0 and the norm exceeds it, every gradient is scaled
// by clip / (norm + 1e-6), as clip_grad_norm_ does. Returns the norm before clipping.
double clip_gradients(std::vector<Trainable>& params, double clip);

io::ordered_json to_json(const OptimizerConfig& c);
io::ordered_json to_json(const Schedule& s);

}  // namespace anatomy::train
