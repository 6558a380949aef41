// EXPECT_ERROR(statement, fragments...): the statement must throw munet::Error whose message
// contains every fragment (a path, a word naming the problem), so tests pin error context.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "util/error.h"

namespace munet::test {

inline void expect_message_contains(const Error& error, std::initializer_list<std::string> parts) {
  const std::string message = error.what();
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "error message lacks \"" << part << "\"; message: " << message;
}

}  // namespace munet::test

#define EXPECT_ERROR(statement, ...)                                     \
  EXPECT_THROW(                                                          \
      {                                                                  \
        try {                                                            \
          statement;                                                     \
        } catch (const ::munet::Error& error_) {                         \
          ::munet::test::expect_message_contains(error_, {__VA_ARGS__}); \
          throw;                                                         \
        }                                                                \
      },                                                                 \
      ::munet::Error)
