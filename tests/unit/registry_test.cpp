// The registry as `server --list-backends` prints it: one JSON object per back end, names unique, capabilities
// taken from each back end's declaration, strings escaped so that any summary stays one valid JSON line.
#include "server/registry.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <string_view>

namespace tvt::server {
namespace {

TEST(Registry, NamesAreUniqueAndFindable) {
  std::set<std::string_view> names;
  for (const auto& entry : backends()) {
    EXPECT_TRUE(names.insert(entry.name).second) << entry.name;
    EXPECT_EQ(find_backend(entry.name), &entry);
    EXPECT_FALSE(entry.summary.empty()) << entry.name;
    EXPECT_EQ(entry.executable.empty(), entry.serve != nullptr) << entry.name << ": in-process xor peer";
  }
  EXPECT_FALSE(backends().empty());
  EXPECT_EQ(find_backend("no-such-back-end"), nullptr);
}

struct OffloadingBackend {
  static constexpr std::string_view name = "x";
  static constexpr std::string_view summary = "quote \" backslash \\ tab \t";
  static constexpr bool threads_option = true;
  static constexpr std::array variants{backend::offload_variant};
  static void serve(int, const backend::ServerOptions&, backend::StopSignal&) {}
};

TEST(Registry, JsonLineCarriesCapabilitiesAndEscapes) {
  EXPECT_EQ(to_json_line(entry_for<OffloadingBackend>()),
            R"({"name":"x","summary":"quote \" backslash \\ tab \u0009","language":"C++","peer":false,)"
            R"("threads_option":true,"variants":[{"name":"offload","args":["--offload"],"workloads":["compute"]}]})");
}

struct PlainBackend {
  static constexpr std::string_view name = "plain";
  static constexpr std::string_view summary = "s";
  static constexpr bool threads_option = false;
  static void serve(int, const backend::ServerOptions&, backend::StopSignal&) {}
};

struct SomePeer {
  static constexpr std::string_view name = "peer";
  static constexpr std::string_view summary = "s";
  static constexpr std::string_view language = "Go";
  static constexpr std::string_view executable = "server-peer";
  static constexpr bool threads_option = true;
};

TEST(Registry, PeerEntriesNameTheirExecutable) {
  constexpr auto plain = entry_for<PlainBackend>();
  EXPECT_EQ(to_json_line(plain),
            R"({"name":"plain","summary":"s","language":"C++","peer":false,"threads_option":false,"variants":[]})");
  constexpr auto peer = entry_for<SomePeer>();
  EXPECT_EQ(peer.serve, nullptr);
  EXPECT_EQ(peer.executable, "server-peer");
  EXPECT_EQ(to_json_line(peer),
            R"({"name":"peer","summary":"s","language":"Go","peer":true,"threads_option":true,"variants":[]})");
}

}  // namespace
}  // namespace tvt::server
