#pragma once
// The one list of models the micro benchmarks and the callgrind driver instantiate their bodies for. Adding a model:
// write its adapter in this folder (satisfying StackfulModel or StacklessModel) and add it here.
#include <cstddef>

#include "models/asio_model.hpp"
#include "models/boost_fiber_model.hpp"
#include "models/ops.hpp"
#include "models/raw_context_model.hpp"
#include "models/raw_coroutine_model.hpp"
#include "models/threads_model.hpp"
#include "models/tvt_coro_model.hpp"
#include "models/tvt_fiber_model.hpp"

namespace tvt::micro {

template <class... Models>
struct ModelList {
  // Calls `visit.template operator()<M>()` for every model, in order.
  template <class Visitor>
  static void for_each(Visitor&& visit) {
    (visit.template operator()<Models>(), ...);
  }
};

using AllModels = ModelList<ThreadsModel, RawCoroutineModel, RawContextModel, BoostFiberModel, AsioModel, FiberModel,
                            FiberMtModel, CoroLocalModel, CoroModel>;

}  // namespace tvt::micro
