#pragma once
// `Ops<M>`: the operations every benchmark body calls, from the family the model belongs to (stackful units block,
// stackless units co_await). The benchmark bodies name only `Ops<M>` and `M`'s limits, never a concrete model.
#include <type_traits>

#include "models/stackful.hpp"
#include "models/stackless.hpp"

namespace tvt::micro {

template <class M>
struct OpsFor;

template <StackfulModel M>
struct OpsFor<M> {
  using type = StackfulOps<M>;
};

template <StacklessModel M>
struct OpsFor<M> {
  using type = StacklessOps<M>;
};

template <class M>
using Ops = typename OpsFor<M>::type;

}  // namespace tvt::micro
