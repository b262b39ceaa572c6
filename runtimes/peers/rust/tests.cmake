# The Rust peers' ctest entries. Include this from the tests tree (tests/peers/CMakeLists.txt:
# `include(${TVT_RUST_SOURCE_DIR}/tests.cmake)`): add_test only registers after the top level's enable_testing().
# - rust_peer_test: cargo test, the protocols' table tests and the shared compute vectors (reuses the release build's
#   dependencies);
# - bench_micro_rust_smoke: the micro benchmarks at tiny sizes.
add_test(NAME rust_peer_test COMMAND ${TVT_RUST_CARGO} test ${TVT_RUST_CARGO_FLAGS} --workspace
         WORKING_DIRECTORY ${TVT_RUST_SOURCE_DIR})
set_tests_properties(rust_peer_test PROPERTIES TIMEOUT 900 LABELS "peers")
add_test(NAME bench_micro_rust_smoke
         COMMAND ${CMAKE_COMMAND} -E env TVT_MICRO_PHASE_TIMEOUT_S=30 ${PROJECT_BINARY_DIR}/bin/bench_micro_rust --smoke
                 --benchmark_min_time=0.01 --benchmark_out=${CMAKE_CURRENT_BINARY_DIR}/bench_micro_rust_smoke.json)
set_tests_properties(bench_micro_rust_smoke PROPERTIES TIMEOUT 120 LABELS "peers")
