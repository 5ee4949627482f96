// The one error type of anatomy: a kind (what went wrong) and a context chain (where).
// Bad input throws Error; cli/main prints what() on one line and exits 2 (1 for Kind::internal).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace anatomy {

enum class ErrorKind { io, format, config, shape, unsupported, device, resource, internal };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);

  ErrorKind kind() const { return kind_; }
  // Adds an outer context ("while reading tensor 'x' in f.safetensors"); what() shows it first.
  Error& with_context(const std::string& context);
  const char* what() const noexcept override { return full_.c_str(); }

 private:
  ErrorKind kind_;
  std::string message_;
  std::vector<std::string> context_;  // innermost first
  std::string full_;
};

// Helpers that name the file and field, the form every input error takes.
[[noreturn]] void fail(ErrorKind kind, const std::string& message);
[[noreturn]] void fail_at(ErrorKind kind, const std::string& file, const std::string& field,
                          const std::string& message);

// Internal invariant: aborts with file:line (never used for bad input).
#define ANATOMY_ASSERT(cond)                                                     \
  do {                                                                           \
    if (!(cond)) ::anatomy::assert_fail(#cond, __FILE__, __LINE__);              \
  } while (0)
[[noreturn]] void assert_fail(const char* cond, const char* file, int line);

}  // namespace anatomy
