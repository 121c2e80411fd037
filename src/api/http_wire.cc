#include "api/http_wire.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <optional>

namespace line {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using beast::error_code;

// What a parser fills in while it reads one request.
struct Parsed {
  HttpRequest request;
  bool expects_continue = false;
  int version = 11;
  size_t max_body_bytes = 0;
};

// Beast's request parser with callbacks that keep only what the server needs: method, path,
// version, the Expect field and the body. Connection/Content-Length/Transfer-Encoding are
// interpreted by basic_parser itself.
class RequestParser final : public http::basic_parser<true> {
 public:
  explicit RequestParser(Parsed* parsed) : parsed_(parsed) {
    eager(true);  // the body with the header in one put(), when it is there already
    body_limit(parsed->max_body_bytes);
  }

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, error_code&) override {
    parsed_->request.method.assign(method.data(), method.size());
    std::string_view t(target.data(), target.size());
    parsed_->request.path.assign(t.substr(0, t.find('?')));
    parsed_->version = version;
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     error_code&) override {
    // curl and others wait (up to a second) for "100 Continue" before sending a larger body.
    if (name == http::field::expect && beast::iequals(value, "100-continue")) {
      parsed_->expects_continue = true;
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The limit was checked against the length before this is called; min() is for safety.
    if (length) parsed_->request.body.reserve(std::min<uint64_t>(*length, parsed_->max_body_bytes));
  }
  size_t on_body_impl(beast::string_view piece, error_code&) override {
    parsed_->request.body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view piece, error_code&) override {
    parsed_->request.body.append(piece.data(), piece.size());
    return piece.size();
  }
  void on_finish_impl(error_code&) override {}

  Parsed* const parsed_;
};

}  // namespace

struct HttpRequestReader::Impl {
  Parsed parsed;
  // basic_parser cannot be reset, so each request gets a new one, built in place.
  std::optional<RequestParser> parser;
  Status error;

  void Restart() {
    parsed.request = HttpRequest{};
    parsed.expects_continue = false;
    parsed.version = 11;
    parser.emplace(&parsed);
  }
};

HttpRequestReader::HttpRequestReader(size_t max_body_bytes) : impl_(std::make_unique<Impl>()) {
  impl_->parsed.max_body_bytes = max_body_bytes;
  impl_->Restart();
}

HttpRequestReader::~HttpRequestReader() = default;

size_t HttpRequestReader::Feed(std::string_view input) {
  Impl& s = *impl_;
  size_t consumed = 0;
  while (s.error.ok() && !s.parser->is_done() && consumed < input.size()) {
    error_code ec;
    const size_t used = s.parser->put(
        boost::asio::const_buffer(input.data() + consumed, input.size() - consumed), ec);
    consumed += used;
    if (ec == http::error::need_more) break;  // an incomplete header is given again later
    if (ec == http::error::body_limit) {
      s.error = Status(Code::kPayloadTooLarge, "request body is larger than the limit of " +
                                                   std::to_string(s.parsed.max_body_bytes) +
                                                   " bytes");
    } else if (ec) {
      s.error = Status::InvalidInput("malformed HTTP request: " + ec.message());
    } else if (used == 0) {
      break;
    }
  }
  return consumed;
}

bool HttpRequestReader::header_done() const { return impl_->parser->is_header_done(); }
bool HttpRequestReader::done() const { return impl_->parser->is_done(); }
bool HttpRequestReader::failed() const { return !impl_->error.ok(); }
const Status& HttpRequestReader::error() const { return impl_->error; }
bool HttpRequestReader::expects_continue() const { return impl_->parsed.expects_continue; }
bool HttpRequestReader::keep_alive() const { return impl_->parser->keep_alive(); }
int HttpRequestReader::version() const { return impl_->parsed.version; }

HttpRequest HttpRequestReader::TakeRequest() {
  HttpRequest request = std::move(impl_->parsed.request);
  impl_->Restart();
  return request;
}

void AppendResponseHead(std::string& out, int version, int status, std::string_view content_type,
                        size_t body_size, bool keep_alive) {
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: line\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body_size);
  if (version >= 11 && !keep_alive) out += "\r\nConnection: close";
  if (version < 11 && keep_alive) out += "\r\nConnection: keep-alive";
  out += "\r\n\r\n";
}

}  // namespace line
