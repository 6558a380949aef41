// Locating the real datasets in tests: skips the test (GTEST_SKIP) with a clear message when
// no data folder is found (tests/run.sh always provides one via MUNET_DATA).
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "data/tasks.h"

#define MUNET_REQUIRE_DATA_ROOT(var)                                             \
  std::string var;                                                               \
  try {                                                                          \
    var = ::munet::find_data_root();                                             \
  } catch (const ::munet::Error& e) {                                            \
    GTEST_SKIP() << "real datasets not found (" << e.what() << "); set MUNET_DATA"; \
  }
