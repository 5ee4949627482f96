#include "core/mapped_file.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace anatomy {
namespace {

int open_regular(const std::string& path, uint64_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorKind::io, path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorKind::io, path + ": not a regular file");
  }
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// Live mappings, for the SIGBUS handler: a fixed table it can read without allocating or locking.
struct LiveMapping {
  std::atomic<const std::byte*> begin{nullptr};
  std::atomic<size_t> size{0};
  char path[512] = {};
};
constexpr int kMaxMappings = 1024;
LiveMapping g_mappings[kMaxMappings];
std::mutex g_register;

void register_mapping(const std::byte* begin, size_t size, const std::string& path) {
  const std::lock_guard<std::mutex> lock(g_register);
  for (auto& m : g_mappings)
    if (m.begin.load() == nullptr) {
      std::strncpy(m.path, path.c_str(), sizeof m.path - 1);
      m.size.store(size);
      m.begin.store(begin, std::memory_order_release);
      return;
    }  // more than 1024 live mappings: the extra ones get the default SIGBUS behaviour
}

void unregister_mapping(const std::byte* begin) {
  const std::lock_guard<std::mutex> lock(g_register);
  for (auto& m : g_mappings)
    if (m.begin.load() == begin) m.begin.store(nullptr);
}

void say(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  while (n > 0) {
    const ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// Only async-signal-safe calls: a read past the end of a file that shrank under its mapping
// becomes one error line and exit code 2 instead of a crash.
void on_sigbus(int, siginfo_t* info, void*) {
  const auto* addr = static_cast<const std::byte*>(info->si_addr);
  for (const auto& m : g_mappings) {
    const std::byte* b = m.begin.load(std::memory_order_acquire);
    if (b && addr >= b && addr < b + m.size.load()) {
      say("anatomy: error: ");
      say(m.path);
      say(": the file was truncated or replaced while mapped (read past its new end)\n");
      ::_exit(2);
    }
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

}  // namespace

void install_mapped_file_guard() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  uint64_t size = 0;
  const int fd = open_regular(path, &size);
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = size;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      fail(ErrorKind::io, path + ": cannot map: " + std::strerror(errno));
    }
    f->data_ = static_cast<std::byte*>(p);
    register_mapping(f->data_, size, path);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (!data_) return;
  unregister_mapping(data_);
  ::munmap(data_, size_);
}

FileReader::FileReader(const std::string& path) : path_(path) { fd_ = open_regular(path, &size_); }

FileReader::~FileReader() {
  if (fd_ >= 0) ::close(fd_);
}

void FileReader::read_at(uint64_t offset, void* dst, size_t n, const char* what) const {
  if (offset > size_ || n > size_ - offset)
    fail(ErrorKind::format, path_ + ": " + what + ": needs " + std::to_string(n) +
                                " bytes at offset " + std::to_string(offset) +
                                " but the file has " + std::to_string(size_) + " bytes");
  auto* out = static_cast<char*>(dst);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail(ErrorKind::io, path_ + ": " + what + ": read failed (file truncated?)");
    done += static_cast<size_t>(r);
  }
}

}  // namespace anatomy
