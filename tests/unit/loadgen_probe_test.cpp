// loadgen's /proc probe depths (loadgen/probe.hpp): a light sample reads only what is cheap and never perturbs a
// measured window (status and stat), and says so by leaving the expensive fields unknown; a full sample reads them.
#include <gtest/gtest.h>
#include <unistd.h>

#include "loadgen/probe.hpp"

namespace tvt::loadgen {
namespace {

TEST(LoadgenProbe, FullSampleReadsEveryField) {
  const ServerSample s = probe_server(::getpid(), ProbeDepth::full);
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_GT(s.pss_bytes, 0);
  EXPECT_GE(s.threads, 1);
  EXPECT_GE(s.fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GE(s.sockets, 0);
}

TEST(LoadgenProbe, LightSampleReadsOnlyStatusAndStat) {
  const ServerSample s = probe_server(::getpid(), ProbeDepth::light);
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_GE(s.threads, 1);
  EXPECT_GE(s.cpu_s, 0);
  EXPECT_EQ(s.pss_bytes, -1);
  EXPECT_EQ(s.fds, -1);
  EXPECT_EQ(s.sockets, -1);
  EXPECT_EQ(s.fixed_sockets, -1);
}

TEST(LoadgenProbe, AFieldAnyProcessLacksStaysUnknownInTheSum) {
  const ServerSample s = probe_servers({::getpid(), ::getpid()}, ProbeDepth::light);
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_EQ(s.fds, -1);
}

}  // namespace
}  // namespace tvt::loadgen
