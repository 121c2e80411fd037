#include "common/redact.h"

#include <gtest/gtest.h>

namespace line {
namespace {

TEST(RedactUrlTest, HidesOnlyThePassword) {
  EXPECT_EQ(RedactUrl("postgresql://u:pw@host:5432/db"), "postgresql://u:***@host:5432/db");
  EXPECT_EQ(RedactUrl("postgresql://u@host/db"), "postgresql://u@host/db");
  EXPECT_EQ(RedactUrl("postgresql://host/db?x=a@b"), "postgresql://host/db?x=a@b");
  EXPECT_EQ(RedactUrl("sqlite:line-data/line.db"), "sqlite:line-data/line.db");
}

}  // namespace
}  // namespace line
