// The server's stop signals (runtimes/server/stop_on_signals.hpp): SIGTERM requests stop, the graceful-stop budget
// ends a process whose serve() does not return in time with exit code 3, a serve() that returns in time disarms it,
// and none of it starts a thread.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server/stop_on_signals.hpp"

namespace {

using namespace std::chrono_literals;
using tvt::backend::StopSignal;
using tvt::server::StopOnSignals;

TEST(StopOnSignals, SigtermRequestsStopWithoutAThread) {
  StopSignal stop;
  {
    StopOnSignals signals(stop, 5000ms);
    EXPECT_TRUE(__libc_single_threaded) << "the stop signals must not need a thread of their own";
    ::raise(SIGTERM);
    EXPECT_TRUE(stop.requested());
  }  // serve() "returned": the budget is disarmed
}

TEST(StopOnSignalsDeathTest, ServeThatDoesNotReturnInTimeExits3) {
  EXPECT_EXIT(
      {
        StopSignal stop;
        StopOnSignals signals(stop, 100ms);
        ::raise(SIGINT);
        for (;;) pause();  // a back end that ignores stop
      },
      testing::ExitedWithCode(3), "graceful stop took longer than 100 ms");
}

TEST(StopOnSignalsDeathTest, ServeThatReturnsInTimeDisarmsTheBudget) {
  EXPECT_EXIT(
      {
        StopSignal stop;
        {
          StopOnSignals signals(stop, 500ms);  // room for a preempted test on a loaded machine
          ::raise(SIGTERM);
        }
        std::this_thread::sleep_for(800ms);  // past the budget: nothing fires
        std::fprintf(stderr, "still here\n");
        std::_Exit(0);
      },
      testing::ExitedWithCode(0), "still here");
}

TEST(StopOnSignalsDeathTest, ASecondSignalDoesNotRestartTheBudget) {
  EXPECT_EXIT(
      {
        StopSignal stop;
        StopOnSignals signals(stop, 300ms);
        ::raise(SIGTERM);
        std::this_thread::sleep_for(200ms);
        ::raise(SIGTERM);  // must not push the deadline to 500 ms
        std::this_thread::sleep_for(200ms);
        std::fprintf(stderr, "budget restarted\n");
        std::_Exit(0);
      },
      testing::ExitedWithCode(3), "graceful stop took longer than 300 ms");
}

}  // namespace
