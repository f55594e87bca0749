// Feed resume tokens: round trip, another database, malformed input.
#include "server/resume_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "tests/testing/status_matchers.h"

namespace whalefeed::server {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

constexpr char kFeed[] = "0123456789abcdef0123456789abcdef";
constexpr char kOtherFeed[] = "fedcba9876543210fedcba9876543210";

TEST(ResumeTokenTest, RoundTripsEveryPosition) {
  for (uint64_t seq : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{1} << 40,
                       std::numeric_limits<uint64_t>::max()}) {
    const std::string token = EncodeResumeToken(kFeed, seq);
    for (char c : token) EXPECT_TRUE(c > ' ' && c < 127) << token;
    EXPECT_EQ(*DecodeResumeToken(token, kFeed), seq);
  }
  EXPECT_NE(EncodeResumeToken(kFeed, 1), EncodeResumeToken(kFeed, 2));
}

TEST(ResumeTokenTest, TokenOfAnotherDatabaseIsRefused) {
  EXPECT_THAT(DecodeResumeToken(EncodeResumeToken(kOtherFeed, 5), kFeed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("another database")));
}

TEST(ResumeTokenTest, MalformedTokensNameTheField) {
  const std::string good = EncodeResumeToken(kFeed, 77);
  for (const std::string& bad :
       {std::string(""), std::string("garbage"), std::string("wf2.") + good.substr(4),
        good.substr(0, good.size() - 2), good + "A", std::string(500, 'x'), std::string("wf1.!!!!"),
        std::string("wf1.") + std::string(32, '=')}) {
    EXPECT_THAT(DecodeResumeToken(bad, kFeed, "page.resume_token"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page.resume_token")))
        << bad;
  }
}

}  // namespace
}  // namespace whalefeed::server
