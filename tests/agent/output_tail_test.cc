#include "agent/output_tail.h"

#include <gtest/gtest.h>

#include <string>

namespace line::agent {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(RepairUtf8Test, KeepsValidText) {
  std::string text = "ascii, \xC3\xA9t\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(RepairUtf8(text), text);
}

TEST(RepairUtf8Test, ReplacesEachInvalidSequence) {
  EXPECT_EQ(RepairUtf8("a\xFF"
                       "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(RepairUtf8("\x80\x80"), kFffd + kFffd);                          // stray continuations
  EXPECT_EQ(RepairUtf8("\xC0\xAF"), kFffd + kFffd);                          // overlong '/'
  EXPECT_EQ(RepairUtf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // a surrogate
  EXPECT_EQ(RepairUtf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  // A truncated sequence is one maximal subpart: one replacement, then what follows.
  EXPECT_EQ(RepairUtf8("\xE2\x82x"), kFffd + "x");
  EXPECT_EQ(RepairUtf8("end\xF0\x9F\x98"), "end" + kFffd);
}

TEST(JsonQuoteTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonQuote("say \"hi\"\\\n\t\x01"), R"("say \"hi\"\\\n\t\u0001")");
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("\xC3\xA9"), "\"\xC3\xA9\"");
}

TEST(OutputTailTest, KeepsEverythingWhileShort) {
  OutputTail tail(8);
  tail.Append("abc");
  tail.Append("def");
  EXPECT_EQ(tail.Text(), "abcdef");
  EXPECT_EQ(tail.ResultJson(), "\"abcdef\"");
}

TEST(OutputTailTest, KeepsTheLastBytesAcrossManyAppends) {
  OutputTail tail(kResultTailBytes);
  std::string all;
  for (int i = 0; i < 3000; ++i) {
    std::string line = "line " + std::to_string(i) + "\n";
    tail.Append(line);
    all += line;
  }
  EXPECT_EQ(tail.bytes(), all.substr(all.size() - kResultTailBytes));
  EXPECT_EQ(tail.Text().size(), kResultTailBytes);
}

TEST(OutputTailTest, OneHugeAppendKeepsItsEnd) {
  OutputTail tail(4);
  tail.Append("0123456789");
  EXPECT_EQ(tail.Text(), "6789");
}

TEST(OutputTailTest, ACharacterSplitByTheCutIsDroppedNotReplaced) {
  OutputTail tail(4);
  tail.Append(
      "x\xE2\x82\xAC"
      "ab");  // the cut falls inside the euro sign
  EXPECT_EQ(tail.bytes(),
            "\x82\xAC"
            "ab");
  EXPECT_EQ(tail.Text(), "ab");
}

TEST(OutputTailTest, InvalidBytesInTheTailAreReplaced) {
  OutputTail tail;
  tail.Append("ok\xFF\xFEok");
  EXPECT_EQ(tail.Text(), "ok" + kFffd + kFffd + "ok");
  EXPECT_EQ(tail.ResultJson(), "\"ok" + kFffd + kFffd + "ok\"");
}

}  // namespace
}  // namespace line::agent
