// Read-only files: a whole-file memory map (weights are mapped, not copied) and bounded
// positional reads (headers are read with pread so that inspecting touches no tensor data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace anatomy {

class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// Turns a SIGBUS inside a live mapping (the file was truncated after it was mapped) into one
// error line naming the file and exit code 2. main() installs it once.
void install_mapped_file_guard();

// An open file read with pread; every read is checked against the file size.
class FileReader {
 public:
  explicit FileReader(const std::string& path);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Reads exactly n bytes at offset or throws an io error naming `what`.
  void read_at(uint64_t offset, void* dst, size_t n, const char* what) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace anatomy
