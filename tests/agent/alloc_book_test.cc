#include "agent/alloc_book.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace line::agent {
namespace {

client::ReceivedAlloc Alloc(const std::string& id, int64_t size, const std::string& worker = "w1") {
  return client::ReceivedAlloc{
      .pool_id = "p", .alloc_id = id, .worker_id = worker, .eval_id = "e-" + id, .size = size};
}

TEST(AllocBookTest, ARedeliveryIsNotAcceptedWhileHeldNorAfterRetirement) {
  AllocBook book(8);
  EXPECT_TRUE(book.Accept(Alloc("a1", 2)));
  EXPECT_FALSE(book.Accept(Alloc("a1", 2)));  // while queued or running
  EXPECT_EQ(book.TakeAccepted().size(), 1u);
  book.Finish("a1");
  EXPECT_FALSE(book.Accept(Alloc("a1", 2)));  // finished, completion not yet reported
  book.Retire("a1");
  EXPECT_FALSE(book.Accept(Alloc("a1", 2)));  // reported
  EXPECT_TRUE(book.TakeAccepted().empty());
}

TEST(AllocBookTest, FreeCountsUnfinishedAllocsAndMayGoNegative) {
  AllocBook book(4);
  EXPECT_EQ(book.Free(), 4);
  ASSERT_TRUE(book.Accept(Alloc("a1", 3)));
  ASSERT_TRUE(book.Accept(Alloc("a2", 3)));  // lined over-booked: queued, never run beyond
  EXPECT_EQ(book.Free(), -2);
  book.Finish("a1");
  EXPECT_EQ(book.Free(), 1);
  book.Finish("a1");  // twice changes nothing
  EXPECT_EQ(book.Free(), 1);
  book.Retire("a2");  // retired without finishing (refused for good): its size returns too
  EXPECT_EQ(book.Free(), 4);
}

TEST(AllocBookTest, HeartbeatsListHeldAllocsOfTheirRegistrationUntilRetired) {
  AllocBook book(8);
  ASSERT_TRUE(book.Accept(Alloc("b", 1, "old")));
  ASSERT_TRUE(book.Accept(Alloc("a", 1, "new")));
  ASSERT_TRUE(book.Accept(Alloc("c", 1, "new")));
  EXPECT_EQ(book.HeldBy("new"), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(book.HeldBy("old"), (std::vector<std::string>{"b"}));
  book.Finish("a");
  EXPECT_EQ(book.HeldBy("new"), (std::vector<std::string>{"a", "c"}));  // not yet reported
  book.Retire("a");
  EXPECT_EQ(book.HeldBy("new"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(book.held(), 2u);
}

TEST(AllocBookTest, WaitForFreeReturnsOnFinishOrInterrupt) {
  AllocBook book(1);
  ASSERT_TRUE(book.Accept(Alloc("a", 1)));
  EXPECT_EQ(book.WaitForFree(std::chrono::milliseconds(1)), 0);
  std::thread finisher([&] { book.Finish("a"); });
  EXPECT_EQ(book.WaitForFree(std::chrono::seconds(30)), 1);
  finisher.join();
  ASSERT_TRUE(book.Accept(Alloc("b", 1)));
  book.Interrupt();
  EXPECT_EQ(book.WaitForFree(std::chrono::seconds(30)), 0);
}

}  // namespace
}  // namespace line::agent
