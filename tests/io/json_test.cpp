#include <gtest/gtest.h>

#include "core/error.h"
#include "io/json.h"

namespace anatomy::io {

TEST(Json, PythonConstantsOnlyWhenAllowed) {
  JsonOptions py;
  py.allow_python_constants = true;
  const json j = parse_json(R"({"limit":[0.0, Infinity], "x": NaN, "s": "Infinity NaN"})", "c.json", py);
  EXPECT_TRUE(is_python_infinity(j["limit"][1]));
  EXPECT_TRUE(j["x"].is_null());
  EXPECT_EQ(j["s"], "Infinity NaN") << "strings are untouched";
  EXPECT_THROW(parse_json(R"({"a": Infinity})", "c.json"), Error);
}

TEST(Json, DuplicateKeysAndDepthAreRejected) {
  EXPECT_THROW(parse_json(R"({"a":1,"a":2})", "c.json"), Error);
  EXPECT_NO_THROW(parse_json(R"({"a":{"a":1}})", "c.json")) << "same key in different objects";
  EXPECT_THROW(parse_json(std::string(100, '[') + std::string(100, ']'), "c.json"), Error);
}

TEST(Json, ErrorsNameTheFile) {
  try {
    parse_json("{", "some/config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("some/config.json"), std::string::npos);
  }
}

}  // namespace anatomy::io
