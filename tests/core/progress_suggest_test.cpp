// The progress sink's scope rule (a task always ends, also when an exception leaves it) and the
// "did you mean" suggestions (case-insensitive edit distance, nothing when nothing is close).
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/progress.h"
#include "core/suggest.h"

namespace anatomy {
namespace {

struct Recorder final : Progress {
  void begin(const std::string& task, uint64_t total) override { events.push_back("begin " + task + " " + std::to_string(total)); }
  void update(uint64_t done) override { events.push_back("update " + std::to_string(done)); }
  void end() override { events.push_back("end"); }
  std::vector<std::string> events;
};

TEST(Progress, TaskEndsEvenWhenAnExceptionLeavesIt) {
  Recorder r;
  try {
    ProgressTask t(r, "work", 3);
    t.update(1);
    throw std::runtime_error("x");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(r.events, (std::vector<std::string>{"begin work 3", "update 1", "end"}));
}

TEST(Suggest, NearestNamesCaseInsensitive) {
  EXPECT_EQ(edit_distance("inspct", "inspect"), 1u);
  EXPECT_EQ(edit_distance("PROFILE", "profile"), 0u);
  const std::vector<std::string> names{"inspect", "run", "profile", "device", "models", "convert"};
  EXPECT_EQ(closest_names("inspct", names), std::vector<std::string>{"inspect"});
  EXPECT_EQ(closest_names("Prof", names), std::vector<std::string>{"profile"});  // a prefix counts as near
  EXPECT_TRUE(closest_names("zzzzzzzz", names).empty());
  EXPECT_EQ(did_you_mean("llama-3.2-1x", {"llama-3.2-1b", "llama-3.2-3b", "gpt2"}),
            "; did you mean 'llama-3.2-1b' or 'llama-3.2-3b'?");
  EXPECT_EQ(did_you_mean("qqqqqqq", {"gpt2"}), "");
}

}  // namespace
}  // namespace anatomy
