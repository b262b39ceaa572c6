# Every target of ours links tvt_warnings: one warning set, so every back end is built alike.
add_library(tvt_warnings INTERFACE)
target_compile_options(tvt_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${TVT_WERROR}>:-Werror>)
# GCC warns under TSan of every std::atomic_thread_fence inlined from a header: Asio's fenced blocks, which we do
# not own. It stays a warning (TSan does not model fences, which is worth seeing), not an error.
if(TVT_WERROR AND TVT_SANITIZER STREQUAL "thread")
  target_compile_options(tvt_warnings INTERFACE -Wno-error=tsan)
endif()
