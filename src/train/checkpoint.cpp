#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/text_file.h"
#include "io/torch_writer.h"

namespace anatomy::train {
namespace fs = std::filesystem;
namespace {

// Makes a file's data, or a folder's entries, durable before anything depends on it.
void sync(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    fail(ErrorKind::io, path.string() + ": cannot sync to disk");
  }
  ::close(fd);
}

}  // namespace

void write_training_checkpoint(const std::string& dir, const CheckpointContent& c) {
  const fs::path final_dir(dir), tmp = final_dir.string() + ".partial", old = final_dir.string() + ".previous";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  io::NamedTensors weights;
  for (const Trainable& p : c.params) weights.emplace_back(p.name, p.param->value);
  io::write_safetensors((tmp / "model.safetensors").string(), weights);
  io::write_safetensors((tmp / "optimizer.safetensors").string(), c.optimizer);
  write_text_file((tmp / "config.json").string(), c.config.dump(2) + "\n");
  for (const auto& [name, bytes] : c.tokenizer) write_text_file((tmp / name).string(), bytes);
  if (c.state_dict) io::write_torch_state_dict((tmp / "best_model.pt").string(), *c.state_dict);
  write_text_file((tmp / "trainer_state.json").string(), c.trainer_state.dump(2) + "\n");
  for (const auto& entry : fs::directory_iterator(tmp)) sync(entry.path());
  write_text_file((tmp / "COMPLETE").string(), "");  // last, once everything it vouches for is on disk
  sync(tmp / "COMPLETE");
  sync(tmp);
  // previous -> .previous, new -> final, then drop the previous: a kill between the renames leaves
  // .previous complete, and the next save replaces it.
  fs::remove_all(old);
  if (fs::exists(final_dir)) fs::rename(final_dir, old);
  fs::rename(tmp, final_dir);
  sync(final_dir.parent_path().empty() ? fs::path(".") : final_dir.parent_path());
  fs::remove_all(old);
}

Resumed read_training_checkpoint(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::exists(d / "COMPLETE"))
    fail(ErrorKind::io, fmt::format("{}: no COMPLETE marker, so this checkpoint was not finished; nothing to resume", dir));
  Resumed r;
  r.dir = dir;
  r.trainer_state = io::load_json_file((d / "trainer_state.json").string());
  r.optimizer = load_tensors((d / "optimizer.safetensors").string());
  return r;
}

io::NamedTensors load_tensors(const std::string& path) {
  const io::SafetensorsFile f = io::read_safetensors(path);
  const auto file = MappedFile::open(path);
  io::NamedTensors out;
  for (const io::TensorEntry& e : f.tensors)
    out.emplace_back(e.name, Tensor::view(std::make_shared<MappedStorage>(file, e.offset, e.nbytes), 0, e.dtype, e.shape));
  return out;
}

}  // namespace anatomy::train
