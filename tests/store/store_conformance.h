// The store conformance suite: every Tx primitive and the Store contract, run against each
// backend. A backend instantiates it with a factory, e.g.
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(SqliteStoreFactory()), StoreFactoryName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "store/store.h"

namespace line::testing_store {

// A store opened for one test. Destroying it closes the store and removes what it created.
class StoreHandle {
 public:
  virtual ~StoreHandle() = default;
  virtual Store& store() = 0;
};

struct StoreFactory {
  std::string name;  // a test-name suffix: letters and digits only
  // Opens a fresh, empty, migrated store.
  std::function<std::unique_ptr<StoreHandle>()> open;
};

// Test output shows a factory by its name, not its bytes.
inline void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    handle_ = GetParam().open();
    ASSERT_NE(handle_, nullptr) << "factory " << GetParam().name << " opened no store";
  }
  void TearDown() override { handle_.reset(); }

  Store& store() { return handle_->store(); }

 private:
  std::unique_ptr<StoreHandle> handle_;
};

}  // namespace line::testing_store
