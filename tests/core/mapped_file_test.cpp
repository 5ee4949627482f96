// A file truncated after it was mapped: reading past its new end is a clear error and exit code 2,
// not a SIGBUS crash. Reads with FileReader see the new size.
#include <gtest/gtest.h>

#include <unistd.h>

#include "core/error.h"
#include "core/mapped_file.h"
#include "test_util.h"

namespace anatomy {
namespace {

TEST(MappedFileDeathTest, TruncatedAfterMappingIsAnErrorNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  test::TempDir tmp;
  const std::string path = tmp / "weights.bin";
  test::write_file(path, std::string(1 << 16, 'x'));
  EXPECT_EXIT(
      {
        install_mapped_file_guard();
        const auto f = MappedFile::open(path);
        if (::truncate(path.c_str(), 100) != 0) std::abort();
        volatile char c = static_cast<char>(f->data()[1 << 15]);
        (void)c;
        std::exit(0);
      },
      ::testing::ExitedWithCode(2), "weights.bin: the file was truncated or replaced while mapped");
}

TEST(MappedFile, ReaderSeesTheFileAsItIsNow) {
  test::TempDir tmp;
  const std::string path = tmp / "h.bin";
  test::write_file(path, std::string(64, 'x'));
  const FileReader r(path);
  ASSERT_EQ(::truncate(path.c_str(), 10), 0);
  char buf[32];
  test::expect_error([&] { r.read_at(16, buf, 32, "header"); }, {path, "header"});
}

}  // namespace
}  // namespace anatomy
