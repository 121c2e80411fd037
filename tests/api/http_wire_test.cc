// HttpRequestReader and AppendResponseHead on bytes alone, no sockets: how requests split
// across reads, pipelining, chunked bodies, limits and malformed input come out.
#include "api/http_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace line {
namespace {

constexpr size_t kLimit = 1024;

// Feeds `text` to `reader` the way a connection does: bytes not consumed are kept and given
// again with the next piece. Returns what is left unconsumed.
std::string FeedInPieces(HttpRequestReader& reader, const std::string& text, size_t piece) {
  std::string pending;
  for (size_t at = 0; at < text.size() && !reader.done() && !reader.failed(); at += piece) {
    pending.append(text.substr(at, piece));
    pending.erase(0, reader.Feed(pending));
  }
  return pending;
}

TEST(HttpRequestReaderTest, AWholeRequestInOnePiece) {
  HttpRequestReader reader(kLimit);
  const std::string text = "POST /Echo?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_EQ(reader.Feed(text), text.size());
  ASSERT_TRUE(reader.done());
  EXPECT_FALSE(reader.failed());
  EXPECT_TRUE(reader.keep_alive());
  EXPECT_EQ(reader.version(), 11);
  EXPECT_FALSE(reader.expects_continue());
  HttpRequest r = reader.TakeRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/Echo");  // without the query string
  EXPECT_EQ(r.body, "hello");
  EXPECT_FALSE(reader.done()) << "the reader starts over after TakeRequest";
}

TEST(HttpRequestReaderTest, ARequestArrivingOneByteAtATime) {
  HttpRequestReader reader(kLimit);
  const std::string text = "POST /A HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  EXPECT_EQ(FeedInPieces(reader, text, 1), "");
  ASSERT_TRUE(reader.done());
  EXPECT_EQ(reader.TakeRequest().body, "abc");
}

TEST(HttpRequestReaderTest, PipelinedRequestsAreReadOneAtATime) {
  HttpRequestReader reader(kLimit);
  const std::string first = "POST /A HTTP/1.1\r\nContent-Length: 1\r\n\r\n1";
  const std::string second = "GET /B HTTP/1.1\r\n\r\n";
  std::string buffer = first + second;
  buffer.erase(0, reader.Feed(buffer));
  ASSERT_TRUE(reader.done());
  EXPECT_EQ(buffer, second) << "the next request's bytes stay unconsumed";
  EXPECT_EQ(reader.TakeRequest().body, "1");
  buffer.erase(0, reader.Feed(buffer));
  ASSERT_TRUE(reader.done());
  EXPECT_TRUE(buffer.empty());
  HttpRequest r = reader.TakeRequest();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/B");
  EXPECT_EQ(r.body, "");
}

TEST(HttpRequestReaderTest, AChunkedBodyIsDecoded) {
  HttpRequestReader reader(kLimit);
  const std::string text =
      "POST /A HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
  EXPECT_EQ(FeedInPieces(reader, text, 4), "");
  ASSERT_TRUE(reader.done()) << reader.error().ToString();
  EXPECT_EQ(reader.TakeRequest().body, "abcde");
}

TEST(HttpRequestReaderTest, ABodyOverTheLimitIsPayloadTooLarge) {
  HttpRequestReader by_length(kLimit);
  by_length.Feed("POST /A HTTP/1.1\r\nContent-Length: 1025\r\n\r\n");
  ASSERT_TRUE(by_length.failed());
  EXPECT_EQ(by_length.error().code(), Code::kPayloadTooLarge);
  EXPECT_NE(by_length.error().message().find("1024"), std::string::npos)
      << by_length.error().ToString();

  HttpRequestReader at_limit(kLimit);
  at_limit.Feed("POST /A HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'x'));
  EXPECT_TRUE(at_limit.done()) << at_limit.error().ToString();

  HttpRequestReader chunked(kLimit);
  FeedInPieces(chunked,
               "POST /A HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                   std::string(1024, 'x') + "\r\n1\r\nx\r\n0\r\n\r\n",
               100);
  ASSERT_TRUE(chunked.failed());
  EXPECT_EQ(chunked.error().code(), Code::kPayloadTooLarge);
}

TEST(HttpRequestReaderTest, MalformedInputIsInvalidInput) {
  for (const std::string text : {"POST /A HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
                                 "NOT A REQUEST\r\n\r\n",
                                 "POST /A HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                                 "POST /A HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    HttpRequestReader reader(kLimit);
    reader.Feed(text);
    ASSERT_TRUE(reader.failed()) << text;
    EXPECT_EQ(reader.error().code(), Code::kInvalidInput) << text;
    EXPECT_NE(reader.error().message().find("malformed HTTP request"), std::string::npos);
  }
}

TEST(HttpRequestReaderTest, TheHeadSaysKeepAliveAndContinue) {
  HttpRequestReader old(kLimit);
  old.Feed("POST /A HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(old.done());
  EXPECT_EQ(old.version(), 10);
  EXPECT_FALSE(old.keep_alive()) << "HTTP/1.0 closes unless told";

  HttpRequestReader old_kept(kLimit);
  old_kept.Feed("POST /A HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(old_kept.done());
  EXPECT_TRUE(old_kept.keep_alive());

  HttpRequestReader closing(kLimit);
  closing.Feed("POST /A HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(closing.done());
  EXPECT_FALSE(closing.keep_alive());

  HttpRequestReader waiting(kLimit);
  waiting.Feed("POST /A HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_TRUE(waiting.header_done());
  EXPECT_FALSE(waiting.done());
  EXPECT_TRUE(waiting.expects_continue());
  waiting.Feed("{}");
  ASSERT_TRUE(waiting.done());
  EXPECT_EQ(waiting.TakeRequest().body, "{}");
  EXPECT_FALSE(waiting.expects_continue()) << "the next request starts without it";
}

TEST(AppendResponseHeadTest, WritesConnectionOnlyWhereItDiffersFromTheVersionsDefault) {
  std::string head;
  AppendResponseHead(head, 11, 200, "application/json", 3, true);
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\nServer: line\r\nContent-Type: application/json\r\n"
            "Content-Length: 3\r\n\r\n");
  head.clear();
  AppendResponseHead(head, 11, 404, "application/json", 0, false);
  EXPECT_EQ(head,
            "HTTP/1.1 404 Not Found\r\nServer: line\r\nContent-Type: application/json\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n");
  head.clear();
  AppendResponseHead(head, 10, 413, "text/plain", 7, true);
  EXPECT_EQ(head,
            "HTTP/1.0 413 Payload Too Large\r\nServer: line\r\nContent-Type: text/plain\r\n"
            "Content-Length: 7\r\nConnection: keep-alive\r\n\r\n");
}

}  // namespace
}  // namespace line
