// linectl eval submit --file: batches, the accepted count, a bad line refused before anything
// is sent, a refused batch that reports what was accepted before it, safe resubmission.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/linectl_test_base.h"

namespace line::testing {
namespace {

class BulkSubmitTest : public LinectlTest {
 protected:
  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = (lined_->dir() / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // n lines with keys key-<first>..., dataset d<i % 3>, size 1 + i % 2.
  static std::string Lines(int first, int n) {
    std::string text;
    for (int i = first; i < first + n; ++i) {
      text += R"({"dataset_id":"d)" + std::to_string(i % 3) + R"(","size":)" +
              std::to_string(1 + i % 2) + R"(,"payload":{"i":)" + std::to_string(i) +
              R"(},"idempotency_key":"key-)" + std::to_string(i) + "\"}\n";
    }
    return text;
  }
};

TEST_F(BulkSubmitTest, SubmitsEveryLineInBatchesAndPrintsTheIds) {
  std::string pool = CreatePool();
  std::string file = WriteFile("evals.jsonl", Lines(0, 25) + "\n");  // a blank line is skipped
  LinectlRun run =
      Linectl({"eval", "submit", "--pool", pool, "--file", file, "--batch-size", "10"});
  ASSERT_EQ(run.exit_code, 0) << Describe({}, run);
  EXPECT_NE(run.err.find("accepted 25 evals in 3 batches"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find('\r'), std::string::npos) << "no progress bar when stderr is a pipe";
  std::vector<std::string> ids;
  std::istringstream out(run.out);
  for (std::string id; std::getline(out, id);) ids.push_back(id);
  ASSERT_EQ(ids.size(), 25u);
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 25);
  json::object seventh = DescribeEval(pool, ids[7]);
  EXPECT_EQ(Str(seventh, "dataset_id"), "d1");
  EXPECT_EQ(Int(seventh, "size"), 2);
  EXPECT_EQ(seventh.at("payload"), json::value({{"i", 7}})) << "ids are printed in file order";
}

TEST_F(BulkSubmitTest, ResubmittingAFileWithKeysCreatesNothingNew) {
  std::string pool = CreatePool();
  std::string file = WriteFile("evals.jsonl", Lines(0, 12));
  json::object first = JsonOk({"eval", "submit", "--pool", pool, "--file", file});
  json::object second =
      JsonOk({"eval", "submit", "--pool", pool, "--file", file, "--batch-size", "5"});
  EXPECT_EQ(Strings(Arr(first, "eval_ids")).size(), 12u);
  EXPECT_EQ(Arr(first, "eval_ids"), Arr(second, "eval_ids")) << "the same evals, not new ones";
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 12);
}

TEST_F(BulkSubmitTest, AMalformedLineIsAUsageErrorNamingItAndNothingIsSent) {
  std::string pool = CreatePool();
  struct Case {
    std::string bad_line;
    std::string says;
  };
  for (const Case& c :
       std::vector<Case>{{R"({"size":1)", "not valid JSON"},
                         {R"({"size":0})", "size must be an integer"},
                         {R"({"dataset_id":"d1"})", "missing size"},
                         {R"({"size":1,"dataset":"d1"})", "unknown field 'dataset'"},
                         {R"({"size":1,"dataset_id":"no spaces"})", "dataset_id must be"},
                         {R"([1])", "expected a JSON object"}}) {
    std::string file = WriteFile("bad.jsonl", Lines(0, 3) + "\n" + c.bad_line + "\n" + Lines(3, 2));
    LinectlRun run = Linectl({"eval", "submit", "--pool", pool, "--file", file});
    EXPECT_EQ(run.exit_code, 2) << Describe({}, run);
    EXPECT_NE(run.err.find("bad.jsonl:5: " + c.says), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("nothing was submitted"), std::string::npos) << run.err;
  }
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 0);

  LinectlRun missing = Linectl({"eval", "submit", "--pool", pool, "--file", "/nonexistent.jsonl"});
  EXPECT_EQ(missing.exit_code, 2);
  LinectlRun empty = Linectl({"eval", "submit", "--pool", pool, "--file", WriteFile("e", "\n")});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("no evals"), std::string::npos) << empty.err;
  LinectlRun both = Linectl(
      {"eval", "submit", "--pool", pool, "--file", WriteFile("f", Lines(0, 1)), "--size", "1"});
  EXPECT_EQ(both.exit_code, 2) << "--file and --size exclude each other";
}

TEST_F(BulkSubmitTest, ARefusedBatchStopsWithExitOneAndTheAcceptedCount) {
  std::string pool = CreatePool();
  // key-12 already names an eval of size 1; line 13 of the file reuses it with size 2:
  // the third batch (lines 11-15) is refused with 409 IdempotencyConflict.
  Call("/ScheduleEval", {{"pool_id", pool}, {"size", 1}, {"idempotency_key", "key-12"}});
  std::string conflicting = R"({"size":2,"idempotency_key":"key-12"})"
                            "\n";
  std::string file = WriteFile("evals.jsonl", Lines(100, 12) + conflicting + Lines(200, 7));
  LinectlRun run = Linectl({"eval", "submit", "--pool", pool, "--file", file, "--batch-size", "5"});
  EXPECT_EQ(run.exit_code, 1) << Describe({}, run);
  EXPECT_NE(run.err.find("batch 3 (lines 11-15) refused"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("IdempotencyConflict"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("10 evals were accepted before it"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 10) << "the accepted ids";
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 11) << "1 before + 10 accepted, they stay";

  // With the conflicting line fixed, the whole file goes through; the first 10 are not doubled.
  std::string fixed = WriteFile("fixed.jsonl", Lines(100, 12) +
                                                   R"({"size":1,"idempotency_key":"key-12"})"
                                                   "\n" +
                                                   Lines(200, 7));
  LinectlRun again =
      Linectl({"eval", "submit", "--pool", pool, "--file", fixed, "--batch-size", "5", "--json"});
  ASSERT_EQ(again.exit_code, 0) << Describe({}, again);
  EXPECT_EQ(Arr(ParseOne(again.out), "eval_ids").size(), 20u);
  EXPECT_EQ(Int(DescribePool(pool), "pending_evals"), 1 + 12 + 7);
}

}  // namespace
}  // namespace line::testing
