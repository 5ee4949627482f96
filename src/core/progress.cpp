#include "core/progress.h"

namespace anatomy {
namespace {

class Silent final : public Progress {
 public:
  void begin(const std::string&, uint64_t) override {}
  void update(uint64_t) override {}
  void end() override {}
};

}  // namespace

Progress& silent_progress() {
  static Silent silent;
  return silent;
}

}  // namespace anatomy
