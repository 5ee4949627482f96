// `anatomy convert MODEL --gguf OUT`: the model's weights (or synthetic ones) as a GGUF file that
// llama.cpp loads.
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "models/checkpoint.h"
#include "models/gguf_export.h"
#include "models/loader.h"

namespace anatomy::cli {

std::string convert_command(const ConvertOptions& o, Progress& progress) {
  models::LoadedModel lm = models::load_model(o.model);
  io::NamedTensors synthetic;
  if (o.random_weights || !lm.has_weights()) {
    const auto dtype = dtype_from_string(o.dtype);
    if (!dtype) fail(ErrorKind::config, "--dtype: '" + o.dtype + "' is not one of f32, f16, bf16");
    synthetic = models::synthetic_weights(lm.model, o.seed, *dtype, 0.02f, progress);
    models::bind_weights(lm.model, synthetic);
  } else {
    models::map_weights(lm);
  }
  models::export_gguf(lm.model, o.gguf);
  return fmt::format("wrote {} ({}, {} weights)\n", o.gguf, lm.model.architecture,
                     synthetic.empty() ? "checkpoint" : fmt::format("synthetic seed {}", o.seed));
}

}  // namespace anatomy::cli
