#include "common/ids.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace line {
namespace {

uint64_t MillisOf(const std::string& id) { return std::stoull(id.substr(0, 12), nullptr, 16); }

TEST(NewIdTest, IsTwentyFourHexCharactersStartingWithTheMillisecond) {
  const auto before = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  std::string id = NewId();
  const auto after = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  ASSERT_EQ(id.size(), 24u);
  EXPECT_TRUE(IsGeneratedId(id)) << id;
  // The id's millisecond is never behind the clock's (it may be ahead only after a step back).
  EXPECT_GE(MillisOf(id), before) << id;
  EXPECT_LE(MillisOf(id), after) << id;
}

TEST(NewIdTest, IdsOfOneProcessAreStrictlyIncreasingAcrossThreads) {
  // Each thread's ids must increase (the B-trees' right edge) and no two may be equal.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      made[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(NewId());
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> all;
  for (const std::vector<std::string>& ids : made) {
    for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(NewIdTest, ARunStartsAtARandomPlaceInEachMillisecond) {
  // Two processes in one millisecond are told apart by where their runs start: the counter
  // part of the first id of a millisecond must vary (47 random bits; equal by chance ~never).
  std::set<std::string> counters;
  uint64_t last_ms = 0;
  for (int i = 0; i < 200000 && counters.size() < 3; ++i) {
    std::string id = NewId();
    if (MillisOf(id) != last_ms) {
      last_ms = MillisOf(id);
      counters.insert(id.substr(12));
    }
  }
  EXPECT_EQ(counters.size(), 3u);
}

TEST(FormatIdTest, PutsTheMillisecondFirstSoTextOrderIsTimeOrder) {
  EXPECT_EQ(FormatId(0x18f2a3b4c5dULL, 0x1), "018f2a3b4c5d000000000001");
  EXPECT_EQ(FormatId(0xffffffffffffULL, 0xffffffffffffULL), "ffffffffffffffffffffffff");
  EXPECT_LT(FormatId(1, 0xffffffffffffULL), FormatId(2, 0));
}

TEST(IsGeneratedIdTest, AcceptsNewAndEarlierShapesOnly) {
  EXPECT_TRUE(IsGeneratedId("018f2a3b4c5d000000000001"));
  EXPECT_TRUE(IsGeneratedId("0123456789abcdef0123"));  // a random id of earlier versions
  EXPECT_FALSE(IsGeneratedId("018F2A3B4C5D000000000001"));  // upper case
  EXPECT_FALSE(IsGeneratedId("018f2a3b4c5d00000000000"));   // 23
  EXPECT_FALSE(IsGeneratedId("018f2a3b4c5d0000000000010"));  // 25
  EXPECT_FALSE(IsGeneratedId("018f2a3b4c5d00000000000g"));
  EXPECT_FALSE(IsGeneratedId(""));
}

}  // namespace
}  // namespace line
