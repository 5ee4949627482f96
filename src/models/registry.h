// The registry: one explicit table, model_type -> family (builder + checkpoint naming rules).
#pragma once

#include <string>
#include <vector>

#include "models/model.h"

namespace anatomy::models {

struct Family {
  const char* model_type;
  // Where the defaults of absent fields come from: the transformers config class (or the original
  // repository's config) whose values the family's reader uses.
  const char* defaults_from;
  Model (*build)(const ConfigReader& config);
  // Maps a tensor name found in a checkpoint to the tree's name; "" for non-parameter buffers to
  // skip. Null when the family's checkpoints use the tree's names unchanged.
  std::string (*checkpoint_name)(const std::string& name) = nullptr;
  // Recognises configs that carry no model_type (mamba_ssm, nanoGPT model_args).
  bool (*claims_untyped)(const json& config) = nullptr;
};

const std::vector<Family>& families();
const Family& family_for(const ConfigReader& config);  // errors name file and model_type
const Family& family_named(const std::string& model_type);  // a type that build_model produced
Model build_model(const json& config, const std::string& file);

}  // namespace anatomy::models
