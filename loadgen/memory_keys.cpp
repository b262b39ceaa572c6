#include "loadgen/memory_keys.hpp"

#include <optional>

namespace tvt::loadgen {
namespace {

std::optional<double> per_conn(std::int64_t after, std::int64_t before, std::int64_t connections) {
  if (after < 0 || before < 0 || connections <= 0) return std::nullopt;
  return static_cast<double>(after - before) / static_cast<double>(connections);
}

}  // namespace

void add_memory_per_conn(JsonRecord& json, const ServerSample& server_before, const MachineSample& machine_before,
                         const ServerSample& s, const MachineSample& m, std::int64_t established) {
  const auto rss = per_conn(s.rss_bytes, server_before.rss_bytes, established);
  const auto pss = per_conn(s.pss_bytes, server_before.pss_bytes, established);
  const auto pte = per_conn(s.pte_bytes, server_before.pte_bytes, established);
  const auto stack = per_conn(m.kernel_stack_bytes, machine_before.kernel_stack_bytes, established);
  const auto tables = per_conn(m.page_tables_bytes, machine_before.page_tables_bytes, established);
  const auto slab = per_conn(m.slab_unreclaimable_bytes, machine_before.slab_unreclaimable_bytes, established);
  const auto sock = per_conn(m.tcp_mem_bytes, machine_before.tcp_mem_bytes, established);
  json.add_optional("rss_per_conn_bytes", rss);
  json.add_optional("pss_per_conn_bytes", pss);
  json.add_optional("pte_per_conn_bytes", pte);
  json.add_optional("kernel_stack_per_conn_bytes", stack);
  json.add_optional("page_tables_per_conn_bytes", tables);
  json.add_optional("slab_per_conn_bytes", slab);
  json.add_optional("sock_mem_per_conn_bytes", sock);
  std::optional<double> kernel;
  if (stack && tables && slab) kernel = *stack + *tables + *slab;
  json.add_optional("kernel_per_conn_bytes", kernel);
  std::optional<double> total;
  if (rss && kernel) total = *rss + *kernel;
  json.add_optional("total_per_conn_bytes", total);
}

}  // namespace tvt::loadgen
