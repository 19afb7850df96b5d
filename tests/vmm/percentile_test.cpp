#include "percentile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace kq {
namespace {

TEST(NearestRank, NoSamples) {
  EXPECT_FALSE(NearestRank({}, 500));
  EXPECT_FALSE(NearestRank({}, 1000));
  const LatencySummary s = Summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_FALSE(s.p50);
  EXPECT_FALSE(s.p99);
  EXPECT_FALSE(s.p999);
  EXPECT_FALSE(s.max);
  EXPECT_FALSE(s.mean);
}

TEST(NearestRank, OneSample) {
  const std::vector<int64_t> one = {42};
  for (uint32_t pm : {0u, 1u, 500u, 990u, 999u, 1000u}) EXPECT_EQ(NearestRank(one, pm), 42) << pm;
  const LatencySummary s = Summarize(one);
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.p50, 42);
  EXPECT_EQ(s.p999, 42);
  EXPECT_EQ(s.max, 42);
  EXPECT_EQ(s.mean, 42);
}

TEST(NearestRank, ThousandSamples) {
  std::vector<int64_t> v(1000);
  for (int i = 0; i < 1000; ++i) v[i] = i + 1;  // value == rank
  EXPECT_EQ(NearestRank(v, 0), 1);
  EXPECT_EQ(NearestRank(v, 1), 1);
  EXPECT_EQ(NearestRank(v, 500), 500);
  EXPECT_EQ(NearestRank(v, 990), 990);
  EXPECT_EQ(NearestRank(v, 999), 999);
  EXPECT_EQ(NearestRank(v, 1000), 1000);
  // Summarize sorts: the same result from shuffled input.
  std::mt19937 rng(7);
  std::shuffle(v.begin(), v.end(), rng);
  const LatencySummary s = Summarize(v);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.p50, 500);
  EXPECT_EQ(s.p99, 990);
  EXPECT_EQ(s.p999, 999);
  EXPECT_EQ(s.max, 1000);
  EXPECT_EQ(s.mean, 501);  // 500.5 rounded half up
}

TEST(NearestRank, RanksRoundUpExactly) {
  std::vector<int64_t> v(100);
  for (int i = 0; i < 100; ++i) v[i] = 10 * (i + 1);
  EXPECT_EQ(NearestRank(v, 990), 990);   // rank 99, not 100 (no float rounding up)
  EXPECT_EQ(NearestRank(v, 999), 1000);  // ceil(99.9) = 100
  EXPECT_EQ(NearestRank(v, 500), 500);   // rank 50
  v.push_back(2000);                     // 101 samples
  EXPECT_EQ(NearestRank(v, 500), 510);   // ceil(50.5) = rank 51
  EXPECT_EQ(NearestRank(std::vector<int64_t>{1, 2}, 500), 1);
  EXPECT_EQ(NearestRank(std::vector<int64_t>{1, 2}, 501), 2);
}

TEST(Summarize, MeanRounds) {
  EXPECT_EQ(Summarize({1, 2}).mean, 2);  // 1.5 -> 2
  EXPECT_EQ(Summarize({1, 1, 2}).mean, 1);
  EXPECT_EQ(Summarize({100, 300, 200}).p50, 200);
}

}  // namespace
}  // namespace kq
