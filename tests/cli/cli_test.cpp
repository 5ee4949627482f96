// The binary end to end: outputs of inspect/models, and bad input -> one line on stderr naming
// the file and the field, exit code 2, nothing on stdout (no partial output).
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "test_util.h"

namespace anatomy {
namespace {

using test::run_anatomy;
using test::TempDir;

const char* kConfig = R"({"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
  "num_attention_heads":2,"vocab_size":10,"tie_word_embeddings":true})";

// A valid one-layer llama folder; the tests then break one thing in it.
void write_good_folder(const std::string& dir) {
  const auto m = models::build_model(nlohmann::json::parse(kConfig), "c");
  models::write_checkpoint(dir, nlohmann::json::parse(kConfig), models::synthetic_weights(m, 1, DType::F32));
}

void expect_bad_input(const std::string& args, const std::vector<std::string>& must_name, const std::string& env = "") {
  const auto r = run_anatomy(args, env);
  EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << "partial output for " << args;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
  for (const auto& s : must_name) EXPECT_NE(r.err.find(s), std::string::npos) << r.err;
}

TEST(Cli, InspectCatalogJson) {
  const auto r = run_anatomy("inspect llama-3.2-1b --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"]["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(j["model"]["model_type"], "llama");
  EXPECT_EQ(j["params"]["total"], 1'235'814'400u);
  EXPECT_EQ(j["params"]["total_with_tied"], 1'235'814'400u + 128256u * 2048u);
  EXPECT_EQ(j["params"]["bytes"], 2u * 1'235'814'400u);
  EXPECT_EQ(j["config"]["head_dim"], 64);
  EXPECT_EQ(j["config"]["gqa_ratio"], 4);
  for (const auto& [k, v] : j["config"].items()) EXPECT_FALSE(v.is_null()) << k << " is null";
  const auto& last = j["params"]["tensors"].back();
  EXPECT_EQ(last["name"], "lm_head.weight");
  EXPECT_EQ(last["tied_to"], "model.embed_tokens.weight");
  EXPECT_EQ(last["shape"], nlohmann::json::array({128256, 2048}));
}

TEST(Cli, TextFormats) {
  const auto table = run_anatomy("inspect transformer-encdec-seed");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("decoder.linear.bias"), std::string::npos);
  EXPECT_NE(table.out.find("2,471,764"), std::string::npos);
  const auto md = run_anatomy("inspect nanogpt-shakespeare-char-seed --format md");
  ASSERT_EQ(md.exit_code, 0);
  EXPECT_NE(md.out.find("| lm_head | Linear | 65×64 + 65 | 4,225 |"), std::string::npos) << md.out;
  const auto models = run_anatomy("models --format json");
  ASSERT_EQ(models.exit_code, 0);
  EXPECT_GE(nlohmann::json::parse(models.out)["models"].size(), 8u);
}

TEST(Cli, InspectCheckpointFolder) {
  TempDir tmp;
  write_good_folder(tmp.path());
  const auto r = run_anatomy(tmp.path() + " --format json");
  EXPECT_EQ(r.exit_code, 2) << "no subcommand is a usage error";
  const auto ok = run_anatomy("inspect " + tmp.path() + " --format json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["source"]["format"], "safetensors");
}

TEST(Cli, BadInputs) {
  TempDir tmp;
  const std::string st = tmp / "model.safetensors";

  write_good_folder(tmp.path());
  const std::string good = test::read_file(st);
  test::write_file(st, good.substr(0, good.size() - 3));
  expect_bad_input("inspect " + tmp.path(), {st, "past the end"});

  std::string longer = good;
  longer[0] = '\xff';
  longer[1] = '\xff';
  test::write_file(st, longer);
  expect_bad_input("inspect " + st, {st, "header length"});

  const auto with_header = [](const std::string& h, const std::string& data) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(h.size() >> (8 * i));
    return out + h + data;
  };
  test::write_file(st, with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", std::string(12, 'x')));
  expect_bad_input("inspect " + st, {st, "tensor 'b'.data_offsets", "overlaps"});
  test::write_file(st, with_header(R"({"a":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}})", std::string(8, 'x')));
  expect_bad_input("inspect " + st, {st, "tensor 'a'.dtype", "F12"});

  std::filesystem::remove(st);
  test::write_file(tmp / "model.safetensors.index.json", R"({"weight_map":{"a":"../../etc/x.safetensors"}})");
  expect_bad_input("inspect " + tmp.path(), {"model.safetensors.index.json", "weight_map.a", "leaves the folder"});

  const std::string gguf = tmp / "bad.gguf";
  std::string g = "GGUF";
  const uint32_t version = 3;
  const uint64_t n_tensors = uint64_t{1} << 62, n_kv = 0;
  g.append(reinterpret_cast<const char*>(&version), 4);
  g.append(reinterpret_cast<const char*>(&n_tensors), 8);
  g.append(reinterpret_cast<const char*>(&n_kv), 8);
  test::write_file(gguf, g);
  expect_bad_input("inspect " + gguf, {gguf, "n_tensors"});

  const std::string cfg = tmp / "config.json";
  test::write_file(cfg, R"({"model_type":"llama","hidden_size":8,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":10})");
  expect_bad_input("inspect " + cfg, {cfg, "intermediate_size", "missing"});
  test::write_file(cfg, R"({"model_type":"gpt2","n_embd":8,"n_layer":0,"n_head":2,"vocab_size":10})");
  expect_bad_input("inspect " + cfg, {cfg, "n_layer"});

  expect_bad_input("inspect no-such-model", {"no-such-model", "catalog"});
  expect_bad_input("inspect gpt2 --format yaml", {"--format", "yaml"});

  const std::string empty = tmp / "empty.txt";
  test::write_file(empty, "");
  expect_bad_input("train --config nanogpt-shakespeare-char --data " + empty + " --out " + (tmp / "run"), {empty, "--data", "empty"});
}

TEST(Cli, InspectForwardCostJson) {
  const auto r = run_anatomy("inspect zamba2-1.2b --tokens 35 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["flops"]["total"].get<double>() / 1e9, 126.82, 0.005);
  EXPECT_GT(j["flops"]["by_class"]["ssm"].get<double>(), 0);
  EXPECT_EQ(j["forward"]["tokens"], 35);
  ASSERT_GT(j["modules"].size(), 100u);
  EXPECT_EQ(j["modules"][0]["type"], "Zamba2ForCausalLM");
  EXPECT_EQ(j["modules"][0]["input_shape"], nlohmann::json::array({1, 35}));
  EXPECT_EQ(j["memory"]["kv_cache_per_token"], 98'304);
  const auto decode = nlohmann::json::parse(run_anatomy("inspect llama-3.2-1b --context 100 --format json").out);
  EXPECT_EQ(decode["forward"]["logits"], "last");
  EXPECT_EQ(decode["memory"]["kv_cache"], 101 * 16 * 2 * 8 * 64 * 2);
  expect_bad_input("inspect gpt2 --tokens 4 --logits some", {"--logits"});
  expect_bad_input("inspect gpt2 --tokens -3", {"--tokens"});
  expect_bad_input("run gpt2 --ids 1,x,3", {"--ids", "'x'"});
  expect_bad_input("run gpt2 --ids 50257", {"--ids", "50257"});
}

// Ceilings for profiles in tests without a full calibration (seconds, more under the sanitizers):
// a quick measurement relabelled as full, given through $ANATOMY_CEILINGS as a user would give
// ceilings measured earlier. A quick file itself is refused.
std::string ceilings_env(const TempDir& dir) {
  const auto dev = run_anatomy("device --quick --format json", "ANATOMY_CACHE_DIR=" + dir.path() + " ");
  EXPECT_EQ(dev.exit_code, 0) << dev.err;
  auto j = nlohmann::json::parse(dev.out);
  test::write_file(dir / "quick.json", j.dump());
  j["quick"] = false;
  test::write_file(dir / "ceilings.json", j.dump());
  return "ANATOMY_CACHE_DIR=" + dir.path() + " ANATOMY_CEILINGS=" + (dir / "ceilings.json") + " ";
}

// The profiler and the device command end to end.
TEST(Cli, ProfileAndDevice) {
  TempDir dir;
  write_good_folder(dir / "model");
  const std::string env = ceilings_env(dir);
  const auto d = nlohmann::json::parse(run_anatomy("device --quick --format json", "ANATOMY_CACHE_DIR=" + dir.path() + " ").out);
  EXPECT_EQ(d["schema"], "anatomy.device/1");
  EXPECT_TRUE(d["quick"].get<bool>());
  EXPECT_FALSE(d["from_cache"].get<bool>());
  EXPECT_TRUE(d["cache_file"].get<std::string>().empty()) << "quick results are never cached";
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().string().find("device-"), std::string::npos) << f.path();
  EXPECT_NE(run_anatomy("device --quick", "ANATOMY_CACHE_DIR=" + dir.path() + " ").out.find("never used as the ceilings"),
            std::string::npos);

  const auto p = run_anatomy("profile " + (dir / "model") + " --tokens 6 --warmup 1 --repeat 3 --format json", env);
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["schema"], "anatomy.profile/1");
  EXPECT_FALSE(j["synthetic_weights"].get<bool>());  // the checkpoint's own weights, mapped
  EXPECT_EQ(j["options"]["tokens"], 6);
  EXPECT_EQ(j["timing"]["plain_passes_ms"].size(), 3u);
  EXPECT_NE(j["ceilings"]["source"].get<std::string>().find("ANATOMY_CEILINGS"), std::string::npos);
  EXPECT_TRUE(j["timing"]["overhead_spread_pct"].contains("p10"));
  EXPECT_TRUE(j["timing"].contains("overhead_within_noise"));
  const auto inspect = nlohmann::json::parse(run_anatomy("inspect " + (dir / "model") + " --tokens 6 --format json").out);
  EXPECT_EQ(j["flops"]["total"], inspect["flops"]["total"]);

  const auto md = run_anatomy("profile " + (dir / "model") + " --decode --context 5 --repeat 2 --format md --top 3 --random-weights", env);
  ASSERT_EQ(md.exit_code, 0) << md.err;
  for (const char* section : {"## Timing", "## Ceilings", "## FLOPs by class", "## Blocks", "## Time by module type",
                              "## Slowest 3 modules by self time", "synthetic (seed 0", "context prefill of 5 tokens"})
    EXPECT_NE(md.out.find(section), std::string::npos) << section;
  // A tiny model's FLOPs are shown in a unit that makes them readable, not as columns of 0.000.
  EXPECT_NE(md.out.find("| class | kFLOP | share % |"), std::string::npos) << md.out;

  expect_bad_input("profile " + (dir / "model") + " --decode", {"--context"}, env);
  expect_bad_input("profile " + (dir / "model") + " --decode --context 3 --tokens 4", {"--tokens"}, env);
  expect_bad_input("profile " + (dir / "model") + " --repeat 0", {"--repeat"}, env);
  expect_bad_input("profile " + (dir / "model") + " --dtype q4", {"--dtype", "q4"}, env);
  expect_bad_input("profile " + (dir / "model") + " --tokens 4",
                   {"ANATOMY_CEILINGS", "quick"}, "ANATOMY_CEILINGS=" + (dir / "quick.json") + " ");
}

// The model's context is a limit everywhere: refused with one line naming it, never clamped.
TEST(Cli, InputsLongerThanTheContextAreRefused) {
  std::string ids = "1";
  for (int i = 1; i < 40; ++i) ids += ",1";
  expect_bad_input("run nanogpt-shakespeare-char --ids " + ids, {"40 tokens", "32 positions", "block_size"});
  expect_bad_input("inspect nanogpt-shakespeare-char --tokens 33", {"33 tokens", "32 positions", "block_size"});
  expect_bad_input("inspect nanogpt-shakespeare-char --context 30 --tokens 3", {"after 30 cached", "32 positions"});
  expect_bad_input("inspect gpt2 --tokens 1025", {"1025", "1024 positions", "n_positions"});
  EXPECT_EQ(run_anatomy("inspect nanogpt-shakespeare-char --tokens 32").exit_code, 0);
  EXPECT_EQ(run_anatomy("inspect mamba2-130m --tokens 100000 --format json").exit_code, 0) << "no position limit";
  // profile's default prefill is min(128, context): 32 tokens here.
  TempDir dir;
  const auto p = run_anatomy("profile nanogpt-shakespeare-char --warmup 0 --repeat 1 --format json", ceilings_env(dir));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["options"]["tokens"], 32);
  expect_bad_input("profile nanogpt-shakespeare-char --context 32", {"32 positions"}, ceilings_env(dir));
}

// One rule for every option: an invalid value is one line naming the option, exit 2.
TEST(Cli, InvalidOptionValuesNameTheOption) {
  expect_bad_input("inspect gpt2 --tokens 0", {"--tokens", "0"});
  expect_bad_input("inspect gpt2 --tokens -1", {"--tokens"});
  expect_bad_input("inspect gpt2 --tokens 99999999999", {"--tokens", "99999999999"});
  expect_bad_input("inspect gpt2 --context -3", {"--context", "-3"});
  expect_bad_input("inspect gpt2 --batch 0", {"--batch"});
  expect_bad_input("inspect gpt2 --max-tensors -1", {"--max-tensors"});
  expect_bad_input("inspect gpt2 --logits last", {"--logits", "--tokens"});
  expect_bad_input("run gpt2 --ids 1 --top-k 0", {"--top-k"});
  expect_bad_input("run gpt2 --ids 1 --threads -1", {"--threads", "0 = all cores"});
  expect_bad_input("profile gpt2 --top 0", {"--top"});
  expect_bad_input("profile gpt2 --warmup -1", {"--warmup"});
  expect_bad_input("profile gpt2 --tokens abc", {"--tokens", "abc"});
  for (const auto& r : {run_anatomy("inspect gpt2 --tokens 0"), run_anatomy("inspect gpt2 --bogus")})
    EXPECT_EQ(r.err.rfind("anatomy: error: ", 0), 0u) << r.err;
}

// The encoder-decoder reads its source from --source-ids; decoder-only models have none.
TEST(Cli, EncoderDecoderSource) {
  expect_bad_input("run transformer-encdec-seed --ids 3,4", {"--source-ids", "encoder-decoder"});
  expect_bad_input("run gpt2 --ids 3,4 --source-ids 5", {"--source-ids", "no encoder"});
  expect_bad_input("run transformer-encdec-seed --ids 3 --source-ids 3,x", {"--source-ids", "'x'"});
  const auto r = run_anatomy("run transformer-encdec-seed --ids 3,4 --source-ids 5,6,7 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["source_ids"], nlohmann::json::array({5, 6, 7}));
  TempDir dir;
  const auto p = run_anatomy("profile transformer-encdec-seed --tokens 4 --source-ids 5,6,7,8,9 --warmup 0 --repeat 1 --format json",
                             ceilings_env(dir));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["options"]["source_ids"], nlohmann::json::array({5, 6, 7, 8, 9}));
  expect_bad_input("profile gpt2 --tokens 4 --source-ids 3", {"--source-ids", "no encoder"}, ceilings_env(dir));
}

// $ANATOMY_CPU_ISA caps the dispatch (figures compare across machines); other values are refused.
TEST(Cli, CpuIsaCap) {
  for (const char* isa : {"avx2", "scalar"}) {
    const auto r = run_anatomy("device --quick --format json", std::string("ANATOMY_CPU_ISA=") + isa + " ");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string got = nlohmann::json::parse(r.out)["kernel_isa"];
    EXPECT_NE(got, "avx512") << isa;
    if (std::string(isa) == "scalar") {
      EXPECT_EQ(got, "scalar");
    }
  }
  expect_bad_input("models", {"ANATOMY_CPU_ISA", "bogus", "avx2"}, "ANATOMY_CPU_ISA=bogus ");
}

TEST(Cli, VersionAndSuggestions) {
  const auto v = run_anatomy("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("anatomy 0."), std::string::npos) << v.out;
  expect_bad_input("inspct gpt2", {"unknown command 'inspct'", "did you mean 'inspect'"});
  expect_bad_input("PROFILE gpt2", {"did you mean 'profile'"});
  expect_bad_input("inspect Llama-3.2-1x", {"did you mean 'llama-3.2-1b'"});
  expect_bad_input("inspect gpt2 --tokenz 3", {"did you mean '--tokens'"});
  const auto far = run_anatomy("inspect zzzzzzzzzzzz");
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
  EXPECT_EQ(far.err.find("nanogpt"), std::string::npos) << "no catalog dump: " << far.err;
}

TEST(Cli, ConfigJsonErrorsNameLineAndColumn) {
  TempDir dir;
  test::write_file(dir / "config.json", "{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 8,\n}\n");
  expect_bad_input("inspect " + (dir / "config.json"), {"config.json", "line 4, column 1", "unexpected '}'"});
  test::write_file(dir / "config.json", "{\"model_type\": \"llama\"");
  expect_bad_input("inspect " + (dir / "config.json"), {"line 1", "ends before"});
  const auto r = run_anatomy("inspect " + (dir / "config.json"));
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
}

// A .safetensors without config.json: its header is validated and its tensors listed.
TEST(Cli, LoneSafetensorsListsItsTensors) {
  TempDir dir;
  write_good_folder(dir / "m");
  std::filesystem::create_directories(dir / "lone");
  std::filesystem::copy_file(dir / "m/model.safetensors", dir / "lone/weights.safetensors");
  const auto r = run_anatomy("inspect " + (dir / "lone/weights.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("architecture unknown"), std::string::npos);
  EXPECT_NE(r.out.find("model.layers.0.mlp.up_proj.weight"), std::string::npos);
  const auto j = nlohmann::json::parse(run_anatomy("inspect " + (dir / "lone/weights.safetensors") + " --format json").out);
  EXPECT_TRUE(j["model"]["architecture"].is_null());
  EXPECT_EQ(j["params"]["tensors"].size(), j["checkpoint"]["stored_tensors"]);
  expect_bad_input("run " + (dir / "lone/weights.safetensors") + " --ids 1", {"no config.json", "architecture is unknown"});
  expect_bad_input("inspect " + (dir / "lone/weights.safetensors") + " --tokens 3", {"no config.json"});
}

// GGUF files anatomy writes can be read back, for every family convert supports.
TEST(Cli, ConvertedGgufReadsBack) {
  TempDir dir;
  test::write_file(dir / "qwen2.json", R"({"model_type":"qwen2","hidden_size":64,"intermediate_size":96,"num_hidden_layers":2,
    "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":300})");
  for (const std::string& model : {dir / "qwen2.json", std::string("mamba2-130m")}) {
    const std::string out = dir / "out.gguf";
    const auto c = run_anatomy("convert " + model + " --gguf " + out);
    ASSERT_EQ(c.exit_code, 0) << c.err;
    const auto r = run_anatomy("inspect " + out + " --format json");
    ASSERT_EQ(r.exit_code, 0) << model << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["params"]["total"],
              nlohmann::json::parse(run_anatomy("inspect " + model + " --format json").out)["params"]["total"]) << model;
  }
  test::write_file(dir / "small.json", R"({"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,
    "num_attention_heads":2,"vocab_size":100})");
  expect_bad_input("convert " + (dir / "small.json") + " --gguf " + (dir / "s.gguf"), {"259", "placeholder", "has 100"});
  expect_bad_input("convert gpt2 --gguf " + (dir / "no/x.gguf"), {"cannot write GGUF", "No such file or directory"});
  EXPECT_FALSE(std::filesystem::exists(dir / "s.gguf"));
}

TEST(Cli, CheckTensorsNamesTensorAndIndex) {
  TempDir dir;
  const auto config = nlohmann::json::parse(kConfig);
  const auto m = models::build_model(config, "c");
  auto weights = models::synthetic_weights(m, 1, DType::F32);
  for (auto& [name, t] : weights)
    if (name == "model.layers.0.mlp.up_proj.weight") {
      t.data<float>()[37] = std::numeric_limits<float>::quiet_NaN();
      t.data<float>()[40] = std::numeric_limits<float>::infinity();
    }
  models::write_checkpoint(dir / "bad", config, weights);
  const auto j = nlohmann::json::parse(run_anatomy("inspect " + (dir / "bad") + " --check-tensors --format json").out);
  ASSERT_EQ(j["tensor_check"]["non_finite"].size(), 1u);
  EXPECT_EQ(j["tensor_check"]["non_finite"][0]["name"], "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(j["tensor_check"]["non_finite"][0]["first_index"], 37);
  EXPECT_EQ(j["tensor_check"]["non_finite"][0]["nans"], 1);
  EXPECT_EQ(j["tensor_check"]["non_finite"][0]["infs"], 1);
  expect_bad_input("run " + (dir / "bad") + " --ids 1,2 --check-tensors", {"model.layers.0.mlp.up_proj.weight", "index 37"});
  // Non-finite logits name the first module whose output went non-finite and the way to find why:
  // up_proj, or the fused gate_proj+up_proj scope where the calibrated GEMM plan fuses them.
  expect_bad_input("run " + (dir / "bad") + " --ids 1,2", {"not finite", "model.layers.0.mlp.", "up_proj (Linear)", "--check-tensors"});
  EXPECT_NE(run_anatomy("inspect " + (dir / "bad") + " --check-tensors").out.find("tensor data read and scanned"),
            std::string::npos);

  write_good_folder(dir / "good");
  EXPECT_NE(run_anatomy("inspect " + (dir / "good") + " --check-tensors").out.find("every scanned tensor is finite"),
            std::string::npos);
  expect_bad_input("inspect llama-3.2-1b --check-tensors", {"llama-3.2-1b", "no weights"});
}

TEST(Cli, MemoryGuardRefusesBeforeLoading) {
  // 131072 tokens of llama-3.2-3b (its whole context): ~80 GB of logits, caches and activations,
  // refused in milliseconds.
  expect_bad_input("profile llama-3.2-3b --tokens 131072", {"llama-3.2-3b", "needs about", "available", "--force"});
}

}  // namespace
}  // namespace anatomy

namespace anatomy {
namespace {

// compare: two bench documents of one tiny model (one and two threads) side by side; every value
// is the document's own and every ratio is value / first value. Foreign, mixed or missing
// documents: one line, exit 2, naming the file and the field.
TEST(Cli, CompareBenchDocuments) {
  TempDir dir;
  for (const char* t : {"1", "2"}) {
    const auto r = run_anatomy(std::string("bench gpt2 --random-weights -p 8 -n 2 --repeat 1 --warmup 0 --format json --threads ") + t);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    test::write_file(dir / (std::string("b") + t + ".json"), r.out);
  }
  const auto r = run_anatomy("compare " + (dir / "b1.json") + " " + (dir / "b2.json") + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto d = io::json::parse(r.out);
  EXPECT_EQ(d["schema"], "anatomy.compare/1");
  EXPECT_EQ(d["kind"], "bench");
  const auto b1 = io::json::parse(test::read_file(dir / "b1.json")), b2 = io::json::parse(test::read_file(dir / "b2.json"));
  bool prefill = false;
  for (const auto& m : d["metrics"]) {
    if (m["name"] != "pp8 prefill") continue;
    prefill = true;
    EXPECT_EQ(m["values"][0].get<double>(), b1["prefill"][0]["tok_per_s"].get<double>());
    EXPECT_EQ(m["values"][1].get<double>(), b2["prefill"][0]["tok_per_s"].get<double>());
    EXPECT_DOUBLE_EQ(m["ratios_to_first"][1].get<double>(), m["values"][1].get<double>() / m["values"][0].get<double>());
    EXPECT_EQ(m["better"], "higher");
  }
  EXPECT_TRUE(prefill);
  const auto md = run_anatomy("compare " + (dir / "b1.json") + " " + (dir / "b2.json") + " --format md");
  EXPECT_NE(md.out.find("| pp8 prefill"), std::string::npos) << md.out;

  test::write_file(dir / "foreign.json", R"({"hello": 1})");
  test::write_file(dir / "run.json", R"({"schema": "anatomy.run/2"})");
  test::write_file(dir / "eval.json", R"({"schema": "anatomy.eval/1", "ppl": 3.0})");
  test::write_file(dir / "broken.json", "{");
  for (const auto& [args, names] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {(dir / "b1.json") + " " + (dir / "foreign.json"), {"foreign.json", "schema"}},
           {(dir / "run.json") + " " + (dir / "b1.json"), {"run.json", "anatomy.run/2"}},
           {(dir / "b1.json") + " " + (dir / "eval.json"), {"eval.json", "one kind"}},
           {(dir / "b1.json") + " " + (dir / "broken.json"), {"broken.json"}},
           {(dir / "b1.json") + " " + (dir / "missing.json"), {"missing.json"}},
           {(dir / "b1.json"), {"files"}}})
    expect_bad_input("compare " + args, names);
}

}  // namespace
}  // namespace anatomy
