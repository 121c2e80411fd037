#include "agent/dataset_dir.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "testing/lined_process.h"

namespace line::agent {
namespace {

using Strings = std::vector<std::string>;

TEST(DatasetIdTest, FollowsTheSpec) {
  EXPECT_TRUE(IsValidDatasetId("d1"));
  EXPECT_TRUE(IsValidDatasetId("A-z_0.9/x"));
  EXPECT_TRUE(IsValidDatasetId(std::string(128, 'a')));
  EXPECT_FALSE(IsValidDatasetId(""));
  EXPECT_FALSE(IsValidDatasetId(std::string(129, 'a')));
  EXPECT_FALSE(IsValidDatasetId("has space"));
  EXPECT_FALSE(IsValidDatasetId("caf\xC3\xA9"));
  EXPECT_FALSE(IsValidDatasetId("a:b"));
}

TEST(FilterDatasetNamesTest, SkipsHiddenAndInvalidNamesSaysWhyAndSorts) {
  std::map<std::string, std::string> skipped;
  Strings kept =
      FilterDatasetNames({"zeta", ".hidden", "alpha", "with space", "alpha", "..", "b.tar.gz"},
                         [&](const std::string& name, const char* why) { skipped[name] = why; });
  EXPECT_EQ(kept, (Strings{"alpha", "b.tar.gz", "zeta"}));
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[".hidden"], "hidden entry");
  EXPECT_EQ(skipped[".."], "hidden entry");
  EXPECT_NE(skipped["with space"].find("not a dataset id"), std::string::npos);
}

TEST(DatasetDirTest, ReadsTheDirectoryAgainEachTime) {
  line::testing::TempDir dir;
  std::ofstream(dir.path() / "d1") << "x";
  std::filesystem::create_directory(dir.path() / "d2");
  std::ofstream(dir.path() / ".partial") << "x";
  std::ofstream(dir.path() / "bad name") << "x";
  DatasetDir datasets(dir.path().string(), {"fixed"});
  EXPECT_EQ(datasets.Read(), (Strings{"d1", "d2", "fixed"}));

  std::filesystem::remove(dir.path() / "d1");
  std::ofstream(dir.path() / "d3") << "x";
  EXPECT_EQ(datasets.Read(), (Strings{"d2", "d3", "fixed"}));
}

TEST(DatasetDirTest, AMissingDirectoryLeavesTheFixedNames) {
  DatasetDir datasets("/nonexistent/line-datasets", {"d9"});
  EXPECT_EQ(datasets.Read(), (Strings{"d9"}));
  DatasetDir none("", {});
  EXPECT_TRUE(none.Read().empty());
}

}  // namespace
}  // namespace line::agent
