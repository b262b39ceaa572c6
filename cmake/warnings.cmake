# Every target of ours links tvt_warnings: one warning set, so every back end is built alike.
add_library(tvt_warnings INTERFACE)
target_compile_options(tvt_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${TVT_WERROR}>:-Werror>)
