// `anatomy convert MODEL --gguf OUT`: the model's weights (or synthetic ones) as a GGUF file that
// llama.cpp loads. The document says what was written; the text line is rendered from it.
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"
#include "io/gguf.h"
#include "models/checkpoint.h"
#include "models/gguf_export.h"
#include "models/loader.h"

namespace anatomy::cli {

io::ordered_json convert_document(const ConvertOptions& o, Progress& progress) {
  models::LoadedModel lm = models::load_model(o.model);
  const bool synthetic = o.random_weights || !lm.has_weights();
  io::NamedTensors weights;
  if (synthetic) {
    const auto dtype = dtype_from_string(o.dtype);
    if (!dtype) fail(ErrorKind::config, "--dtype: '" + o.dtype + "' is not one of f32, f16, bf16");
    weights = models::synthetic_weights(lm.model, o.seed, *dtype, 0.02f, progress);
    models::bind_weights(lm.model, weights);
  } else {
    models::map_weights(lm);
  }
  models::export_gguf(lm.model, o.gguf);
  io::ordered_json d = {{"schema", "anatomy.convert/1"}, {"model", o.model}, {"architecture", lm.model.architecture},
                        {"model_type", lm.model.model_type}, {"gguf_architecture", io::gguf_arch_for(lm.model.model_type)},
                        {"output", o.gguf}, {"bytes", std::filesystem::file_size(o.gguf)},
                        {"weights", synthetic ? "synthetic" : "checkpoint"}};
  if (synthetic) d.update(io::ordered_json{{"seed", o.seed}, {"dtype", o.dtype}});
  return d;
}

std::string convert_command(const ConvertOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const io::ordered_json d = convert_document(o, progress);
  if (f == Format::json) return d.dump(2) + "\n";
  const std::string weights = d["weights"] == "synthetic" ? fmt::format("synthetic seed {} weights", o.seed) : "checkpoint weights";
  return fmt::format("wrote {} ({}, {}, {})\n", o.gguf, d["architecture"].get<std::string>(), weights,
                     short_bytes(d["bytes"].get<uint64_t>()));
}

}  // namespace anatomy::cli
