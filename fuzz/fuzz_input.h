// Shared by the fuzz targets: inputs for readers that take a path (the bytes become an anonymous
// in-memory file, memfd, named by /proc/self/fd/N: no disk I/O, nothing left behind), and the rule
// that a clear refusal is a correct outcome.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace anatomy::fuzz {

// Runs one input: an anatomy::Error is a clear refusal, the expected outcome for bad bytes;
// anything else (a crash, another exception) escapes to libFuzzer as a bug.
template <class F>
int run_one(F&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
  return 0;
}

class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) : fd_(memfd_create("fuzz-input", 0)) {
    for (size_t done = 0; fd_ >= 0 && done < size;) {
      const ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() {
    if (fd_ >= 0) close(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace anatomy::fuzz
