# cli/reports.cmake - the reporting extras of the CLI (symbolizer,
# suppressions, baselines, SARIF, DOT, check, diff), added to the core's
# lg_cli_core library. cli/CMakeLists.txt includes this file when present.
target_sources(lg_cli_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/symbolize.c
    ${CMAKE_CURRENT_LIST_DIR}/suppress.c
    ${CMAKE_CURRENT_LIST_DIR}/suppress_apply.c
    ${CMAKE_CURRENT_LIST_DIR}/reports_util.c
    ${CMAKE_CURRENT_LIST_DIR}/baseline.c
    ${CMAKE_CURRENT_LIST_DIR}/sarif.c
    ${CMAKE_CURRENT_LIST_DIR}/check.c
    ${CMAKE_CURRENT_LIST_DIR}/diff.c
    ${CMAKE_CURRENT_LIST_DIR}/dot.c
)
target_include_directories(lg_cli_core PRIVATE ${UTHASH_INCLUDE_DIR})
target_compile_definitions(lg_cli_core PRIVATE LG_VERSION="${PROJECT_VERSION}")
target_link_libraries(lg_cli_core PRIVATE PkgConfig::LIBDW ${CMAKE_DL_LIBS})
# report.c refers to lg_render_sarif weakly (so the core links without this
# file); a weak reference does not pull sarif.o out of the static library,
# so every program that links the core asks for it explicitly.
target_link_options(lg_cli_core INTERFACE "LINKER:--undefined=lg_render_sarif")
