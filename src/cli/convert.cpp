// `anatomy convert MODEL --gguf OUT`: the model's weights (or synthetic ones) as a GGUF file that
// llama.cpp loads; `--safetensors OUT`: as a safetensors file under Hugging Face's names (what
// transformers' from_pretrained reads beside the config). The document says what was written;
// the text line is rendered from it.
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"
#include "io/gguf.h"
#include "models/checkpoint.h"
#include "models/gguf_export.h"
#include "models/loader.h"
#include "tokenizer/load.h"

namespace anatomy::cli {

io::ordered_json convert_document(const ConvertOptions& o, Progress& progress) {
  models::LoadedModel lm = models::load_model(o.model);
  const bool synthetic = o.random_weights || !lm.has_weights();
  io::NamedTensors weights;
  if (synthetic) {
    const auto dtype = dtype_from_string(o.dtype);
    if (!dtype) fail(ErrorKind::config, "--dtype: '" + o.dtype + "' is not one of f32, f16, bf16");
    weights = models::synthetic_weights(lm.model, o.seed, *dtype, o.scale, progress);
    models::bind_weights(lm.model, weights);
  } else {
    models::map_weights(lm);
  }
  if (o.gguf.empty() == o.safetensors.empty()) fail(ErrorKind::config, "convert: give one of --gguf FILE and --safetensors FILE");
  if (!o.safetensors.empty()) {
    if (!synthetic) weights = models::bound_weights(lm.model);
    io::write_safetensors(o.safetensors, weights);
    io::ordered_json d = {{"schema", "anatomy.convert/1"}, {"model", o.model}, {"architecture", lm.model.architecture},
                          {"model_type", lm.model.model_type}, {"output", o.safetensors},
                          {"bytes", std::filesystem::file_size(o.safetensors)}, {"weights", synthetic ? "synthetic" : "checkpoint"},
                          {"tensors", weights.size()}};
    if (synthetic) d.update(io::ordered_json{{"seed", o.seed}, {"dtype", o.dtype}, {"scale", o.scale}});
    return d;
  }
  // The model's own tokenizer when its folder has one (or --tokenizer); else a placeholder, said so.
  const std::string folder = std::filesystem::is_directory(o.model) ? o.model : std::filesystem::path(o.model).parent_path().string();
  std::unique_ptr<tokenizer::Tokenizer> tok;
  if (!o.tokenizer.empty()) tok = tokenizer::load_tokenizer(o.tokenizer);
  else if (std::filesystem::path(o.model).extension() == ".gguf") {
    const io::GgufFile source = io::read_gguf(o.model);
    if (source.metadata.contains("tokenizer.ggml.model")) tok = tokenizer::load_gguf_vocab(source);
  } else if (!folder.empty() && tokenizer::has_tokenizer(folder)) tok = tokenizer::load_tokenizer(folder);
  models::export_gguf(lm.model, o.gguf, tok.get());
  io::ordered_json d = {{"schema", "anatomy.convert/1"}, {"model", o.model}, {"architecture", lm.model.architecture},
                        {"model_type", lm.model.model_type}, {"gguf_architecture", io::gguf_arch_for(lm.model.model_type)},
                        {"output", o.gguf}, {"bytes", std::filesystem::file_size(o.gguf)},
                        {"weights", synthetic ? "synthetic" : "checkpoint"}};
  d["tokenizer"] = tok ? io::ordered_json(tok->describe()) : io::ordered_json(nullptr);
  d["vocabulary"] = tok ? "the model's tokenizer" : "placeholder (the model has no tokenizer: <unk>, <s>, </s>, 256 byte tokens, fillers)";
  if (synthetic) d.update(io::ordered_json{{"seed", o.seed}, {"dtype", o.dtype}});
  return d;
}

std::string convert_command(const ConvertOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const io::ordered_json d = convert_document(o, progress);
  if (f == Format::json) return d.dump(2) + "\n";
  const std::string weights = d["weights"] == "synthetic" ? fmt::format("synthetic seed {} weights", o.seed) : "checkpoint weights";
  if (!o.safetensors.empty())
    return fmt::format("wrote {} ({}, {}, {} tensors, {})\n", o.safetensors, d["architecture"].get<std::string>(), weights,
                       d["tensors"].get<size_t>(), short_bytes(d["bytes"].get<uint64_t>()));
  return fmt::format("wrote {} ({}, {}, {}; vocabulary: {})\n", o.gguf, d["architecture"].get<std::string>(), weights,
                     short_bytes(d["bytes"].get<uint64_t>()),
                     d["tokenizer"].is_null() ? d["vocabulary"].get<std::string>() : d["tokenizer"]["source"].get<std::string>());
}

}  // namespace anatomy::cli
