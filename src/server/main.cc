// lined: wiring, threads and signals. No business logic lives here.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "api/router.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/redact.h"
#include "config/options.h"
#include "ops/engine.h"
#include "store/cluster.h"
#include "store/store.h"

namespace {

const char* GetEnv(const char* name) { return std::getenv(name); }

int Run(const line::Options& options) {
  line::SetLogLevel(options.log_level);
  spdlog::info("lined starting: {}", options.Describe());

  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // only the main thread's sigwait() sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  line::Result<std::unique_ptr<line::Store>> store = line::OpenStore(options.store);
  if (!store.ok()) {
    spdlog::error("cannot open store {}: {}", line::RedactUrl(options.store),
                  store.status().ToString());
    return 1;
  }
  spdlog::info("store {} open", line::RedactUrl(options.store));

  line::Result<std::unique_ptr<line::Cluster>> cluster =
      line::OpenCluster(options.store, options.listen, line::SystemClock());
  if (!cluster.ok()) {
    spdlog::error("cannot join the cluster: {}", cluster.status().ToString());
    return 1;
  }
  line::Engine engine(store->get(), line::SystemClock(), options, std::move(cluster).value());
  if (line::Status started = engine.Start(); !started.ok()) {
    spdlog::error("cannot start the scheduler: {}", started.ToString());
    return 1;
  }

  line::HttpServerOptions http;
  http.listen = options.listen;
  http.io_threads = static_cast<int>(options.threads);
  http.max_body_bytes = static_cast<size_t>(options.max_body);
  line::HttpServer server(http);
  line::RegisterRoutes(server, engine.service());
  if (line::Status listening = server.Start(); !listening.ok()) {
    spdlog::error("cannot listen on {}: {}", options.listen, listening.message());
    engine.Stop();
    return 1;
  }
  spdlog::info("lined listening on {} (port {})", options.listen, server.port());

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}: finishing in-flight requests", strsignal(signal_number));

  // Parked long-polls answer now, so the HTTP drain does not wait out their timeouts; then
  // in-flight requests finish (the store still commits them); then the background threads
  // stop, and the store flushes its writer last.
  engine.waiters().Stop();
  server.Stop();
  engine.Stop();
  (*store)->Close();
  spdlog::info("lined stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  line::Result<line::ParsedCommandLine> parsed = line::ParseCommandLine(args, &GetEnv);
  if (!parsed.ok()) {
    std::cerr << "lined: " << parsed.status().message() << "\n";
    return 2;
  }
  if (parsed->help) {
    std::cout << line::HelpText();
    return 0;
  }
  if (line::Status valid = parsed->options.Validate(); !valid.ok()) {
    std::cerr << "lined: configuration error: " << valid.message() << "\n";
    return 2;
  }
  return Run(parsed->options);
}
